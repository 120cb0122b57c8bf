import VGPUCore
import VGPUHost

/// Creating and removing vGPUs that no domain is involved in, and their definitions.
extension HostSession {
    /// Places and creates `uuids.count` vGPUs (one transaction); `persist` also defines them (start auto) with
    /// `attributes`, which the new vGPUs get now too. No domain is involved, so libvirt is not asked.
    public func create(_ request: PlacementRequest, uuids: [DeviceUUID], persist: Bool,
                       attributes: [Definition.Attribute] = []) throws -> [Placement] {
        try Validation.attributes(attributes)
        var (placements, plan) = try LifecyclePlanner.create(request, uuids: uuids, inventory: host.inventory(),
                                                             config: host.placementConfig())
        if persist { plan = DefinitionPlanner.persisting(plan, start: .auto, attributes: attributes) }
        try execute(plan)
        return placements
    }

    /// Removes a vGPU and its definition; refused while a process holds it.
    public func remove(_ uuid: DeviceUUID) throws {
        let inventory = try inventory(domains: false)
        // The kernel's answer first: a held vGPU is refused naming its holder, whatever else applies.
        try refuseIfHeld(uuid, in: inventory)
        let plan = try DefinitionPlanner.remove(uuid, inventory: inventory)
        try execute(plan)
    }

    /// Defining a running vGPU without attributes asks mdevctl's callout for its attributes (`get`, after `pre`,
    /// as `mdevctl define` does), so the definition starts it as it runs now.
    public func define(type: String, parent: String?, uuid: DeviceUUID, start: Definition.Start,
                       attributes: [Definition.Attribute] = []) throws {
        let inventory = try host.inventory(), config = try host.placementConfig()
        let (definition, plan) = try DefinitionPlanner.define(type: type, parent: parent, uuid: uuid, start: start, attributes: attributes,
                                                              inventory: inventory, config: config)
        try withCallouts(.define, definition) {
            guard attributes.isEmpty, let vgpu = inventory.vgpu(uuid), vgpu.layout == .mdev,
                  let reported = try callouts.attributes(of: Callouts.Device(runningDevice(vgpu))), !reported.isEmpty else {
                return try execute(plan)
            }
            try execute(DefinitionPlanner.define(type: type, parent: parent, uuid: uuid, start: start, attributes: reported,
                                                 inventory: inventory, config: config).1)
        }
    }

    public func undefine(_ uuid: DeviceUUID, parent: String? = nil) throws {
        let inventory = try inventory(domains: false)
        let plan = try DefinitionPlanner.undefine(uuid, parent: parent, inventory: inventory)
        try withCallouts(.undefine, DefinitionPlanner.defined(uuid, parent: parent, in: inventory)) { try execute(plan) }
    }

    /// Creates the vGPU a definition describes and writes its attributes; mdevctl's callouts may refuse it.
    public func start(_ uuid: DeviceUUID, parent: String? = nil) throws {
        let inventory = try host.inventory()
        let plan = try DefinitionPlanner.start(uuid, parent: parent, inventory: inventory)
        try withCallouts(.start, DefinitionPlanner.defined(uuid, parent: parent, in: inventory)) { try execute(plan) }
    }

    /// Removes a defined vGPU and keeps its definition; refused while a process holds it.
    public func stop(_ uuid: DeviceUUID) throws {
        let inventory = try inventory(domains: false)
        let plan = try DefinitionPlanner.stop(uuid, inventory: inventory)
        try refuseIfHeld(uuid, in: inventory)
        guard let vgpu = inventory.vgpu(uuid) else { return try execute(plan) }
        try withCallouts(.stop, runningDevice(vgpu)) { try execute(plan) }
    }

    /// Changes a definition as `mdevctl modify` does; a running vGPU is not touched. Returns the new definition.
    @discardableResult
    public func modify(_ uuid: DeviceUUID, parent: String?, change: DefinitionChange) throws -> Definition {
        let (definition, plan) = try DefinitionPlanner.modify(uuid, parent: parent, change: change, inventory: host.inventory())
        try withCallouts(.modify, definition) { try execute(plan) }
        return definition
    }

    /// Starts every auto definition that is not running, each on its own: one result per definition, so a
    /// front end can report each (one failure does not stop the others).
    public func startAuto(parent: String? = nil) throws -> [(definition: Definition, result: Result<Void, VGPUError>)] {
        try DefinitionPlanner.startAuto(inventory: host.inventory())
            .filter { parent == nil || $0.0.parent == parent }
            .map { definition, planned in
                do {
                    let plan = try planned.get()
                    try withCallouts(.start, definition) { try execute(plan) }
                    return (definition, .success(()))
                } catch let error as VGPUError {
                    return (definition, .failure(error))
                }
            }
    }
}
