import VGPUCore
import VGPUHost

/// Creates the vGPU a definition describes and writes its attributes; mdevctl's callouts may refuse it.
public struct StartVGPU: ChangeUseCase {
    public var uuid: DeviceUUID
    public var parent: String?

    public init(_ uuid: DeviceUUID, parent: String? = nil) {
        self.uuid = uuid
        self.parent = parent
    }

    public func run(in session: Session) throws {
        let inventory = try session.environment.inventory()
        let plan = try DefinitionPlanner.start(uuid, parent: parent, inventory: inventory)
        try session.withCallouts(.start, DefinitionPlanner.defined(uuid, parent: parent, in: inventory)) { try session.execute(plan) }
    }
}
