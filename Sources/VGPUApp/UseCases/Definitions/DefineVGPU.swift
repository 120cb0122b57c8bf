import VGPUCore
import VGPUHost

/// Writes a definition. Defining a running vGPU without attributes asks mdevctl's callout for its attributes
/// (`get`, after `pre`, as `mdevctl define` does), so the definition starts it as it runs now.
public struct DefineVGPU: ChangeUseCase {
    public var type: String
    public var parent: String?
    public var uuid: DeviceUUID
    public var start: Definition.Start
    public var attributes: [Definition.Attribute]

    public init(type: String, parent: String?, uuid: DeviceUUID, start: Definition.Start, attributes: [Definition.Attribute] = []) {
        self.type = type
        self.parent = parent
        self.uuid = uuid
        self.start = start
        self.attributes = attributes
    }

    public func run(in session: Session) throws {
        let inventory = try session.environment.inventory(), config = try session.environment.placementConfig()
        let (definition, plan) = try DefinitionPlanner.define(type: type, parent: parent, uuid: uuid, start: start, attributes: attributes,
                                                              inventory: inventory, config: config)
        try session.withCallouts(.define, definition) {
            guard attributes.isEmpty, let vgpu = inventory.vgpu(uuid), vgpu.layout == .mdev,
                  let reported = try session.callouts.attributes(of: Callouts.Device(session.runningDevice(vgpu))), !reported.isEmpty else {
                return try session.execute(plan)
            }
            try session.execute(DefinitionPlanner.define(type: type, parent: parent, uuid: uuid, start: start, attributes: reported,
                                                         inventory: inventory, config: config).1)
        }
    }
}
