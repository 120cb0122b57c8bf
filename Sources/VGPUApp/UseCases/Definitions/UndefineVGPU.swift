import VGPUCore
import VGPUHost

/// Deletes a definition; a running vGPU keeps running.
public struct UndefineVGPU: ChangeUseCase {
    public var uuid: DeviceUUID
    public var parent: String?

    public init(_ uuid: DeviceUUID, parent: String? = nil) {
        self.uuid = uuid
        self.parent = parent
    }

    public func run(in session: Session) throws {
        let inventory = try session.inventory(domains: false)
        let plan = try DefinitionPlanner.undefine(uuid, parent: parent, inventory: inventory)
        try session.withCallouts(.undefine, DefinitionPlanner.defined(uuid, parent: parent, in: inventory)) { try session.execute(plan) }
    }
}
