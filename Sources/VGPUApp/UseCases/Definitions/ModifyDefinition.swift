import VGPUCore
import VGPUHost

/// Changes a definition as `mdevctl modify` does; a running vGPU is not touched. Returns the new definition.
public struct ModifyDefinition: ChangeUseCase {
    public var uuid: DeviceUUID
    public var parent: String?
    public var change: DefinitionChange

    public init(_ uuid: DeviceUUID, parent: String?, change: DefinitionChange) {
        self.uuid = uuid
        self.parent = parent
        self.change = change
    }

    @discardableResult
    public func run(in session: Session) throws -> Definition {
        let (definition, plan) = try DefinitionPlanner.modify(uuid, parent: parent, change: change, inventory: session.environment.inventory())
        try session.withCallouts(.modify, definition) { try session.execute(plan) }
        return definition
    }
}
