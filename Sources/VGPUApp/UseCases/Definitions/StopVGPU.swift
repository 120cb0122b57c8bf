import VGPUCore
import VGPUHost

/// Removes a defined vGPU and keeps its definition; refused while a process holds it.
public struct StopVGPU: ChangeUseCase {
    public var uuid: DeviceUUID

    public init(_ uuid: DeviceUUID) { self.uuid = uuid }

    public func run(in session: Session) throws {
        let inventory = try session.inventory(domains: false)
        let plan = try DefinitionPlanner.stop(uuid, inventory: inventory)
        try session.refuseIfHeld(uuid, in: inventory)
        guard let vgpu = inventory.vgpu(uuid) else { return try session.execute(plan) }
        try session.withCallouts(.stop, session.runningDevice(vgpu)) { try session.execute(plan) }
    }
}
