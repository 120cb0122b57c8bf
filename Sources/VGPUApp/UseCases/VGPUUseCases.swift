import VGPUCore
import VGPUHost

/// Creating and removing vGPUs that no domain is involved in, and their definitions.
extension HostSession {
    /// Places and creates `uuids.count` vGPUs (one transaction); `persist` also defines them (start auto).
    /// No domain is involved, so libvirt is not asked (the lock is held meanwhile).
    public func create(_ request: PlacementRequest, uuids: [DeviceUUID], persist: Bool) throws -> [Placement] {
        var (placements, plan) = try LifecyclePlanner.create(request, uuids: uuids, inventory: host.inventory(),
                                                             config: host.placementConfig())
        if persist { plan = DefinitionPlanner.persisting(plan, start: .auto) }
        try execute(plan)
        return placements
    }

    /// Removes a vGPU and its definition; refused while a process holds it.
    public func remove(_ uuid: DeviceUUID) throws {
        let inventory = try inventory(domains: false)
        let plan = try DefinitionPlanner.remove(uuid, inventory: inventory)
        try refuseIfHeld(uuid, in: inventory)
        try execute(plan)
    }

    public func define(type: String, parent: String?, uuid: DeviceUUID, start: Definition.Start) throws {
        let (_, plan) = try DefinitionPlanner.define(type: type, parent: parent, uuid: uuid, start: start,
                                                     inventory: host.inventory(), config: host.placementConfig())
        try execute(plan)
    }

    public func undefine(_ uuid: DeviceUUID) throws {
        try execute(DefinitionPlanner.undefine(uuid, inventory: inventory(domains: false)))
    }

    public func start(_ uuid: DeviceUUID) throws {
        try execute(DefinitionPlanner.start(uuid, inventory: host.inventory()))
    }

    /// Removes a defined vGPU and keeps its definition; refused while a process holds it.
    public func stop(_ uuid: DeviceUUID) throws {
        let inventory = try inventory(domains: false)
        let plan = try DefinitionPlanner.stop(uuid, inventory: inventory)
        try refuseIfHeld(uuid, in: inventory)
        try execute(plan)
    }

    /// Starts every auto definition that is not running, each on its own: one result per definition, so a
    /// front end can report each (one failure does not stop the others).
    public func startAuto(parent: String? = nil) throws -> [(definition: Definition, result: Result<Void, VGPUError>)] {
        try DefinitionPlanner.startAuto(inventory: host.inventory())
            .filter { parent == nil || $0.0.parent == parent }
            .map { definition, planned in
                do {
                    try execute(planned.get())
                    return (definition, .success(()))
                } catch let error as VGPUError {
                    return (definition, .failure(error))
                }
            }
    }
}
