import VGPUCore
import VGPUHost

/// Removes a vGPU and its definition; refused while a process holds it.
public struct RemoveVGPU: ChangeUseCase {
    public var uuid: DeviceUUID

    public init(_ uuid: DeviceUUID) { self.uuid = uuid }

    public func run(in session: Session) throws {
        let inventory = try session.inventory(domains: false)
        // The kernel's answer first: a held vGPU is refused naming its holder, whatever else applies.
        try session.refuseIfHeld(uuid, in: inventory)
        try session.execute(DefinitionPlanner.remove(uuid, inventory: inventory))
    }
}
