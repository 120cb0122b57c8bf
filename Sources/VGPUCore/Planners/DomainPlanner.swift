/// Pure planners for vGPUs and libvirt domains: create-and-attach, attach, detach, destroy.
public enum DomainPlanner {
    /// Which scopes an attach or detach touches: `--config`, `--live` (domain must run), or by default the
    /// persistent definition plus the running domain when it runs.
    public static func scope(config: Bool, live: Bool, domain: String, isActive: Bool) throws -> AttachScope {
        if live && !isActive {
            throw VGPUError(.invalidInput, "domain \(domain) is not running, so --live has nothing to change",
                            fix: "drop --live (the definition is changed by default), or start the domain first")
        }
        if config && live { return .both }
        if config { return .config }
        if live { return .live }
        return isActive ? .both : .config
    }

    /// `create --vm`, whole: the scope (`config`/`live`, see `scope`), placement preferring the NUMA node the
    /// domain's inactive XML pins it to (`nodeCPUs`: each node's CPUs), then each vGPU's creation followed by its
    /// attachment; one transaction (a failed attach removes the vGPUs).
    public static func createAndAttach(_ request: PlacementRequest, uuids: [DeviceUUID], domain: String, isActive: Bool,
                                       inactiveXML: String, nodeCPUs: [Int: Set<Int>], config: Bool, live: Bool, migratable: Bool,
                                       inventory: Inventory, placementConfig: PlacementConfig,
                                       hostdev: (VGPU) throws -> String) throws -> (placements: [Placement], plan: Plan) {
        let scope = try scope(config: config, live: live, domain: domain, isActive: isActive)
        let placed = try NUMAPinning.request(request, forDomain: domain, inactiveXML: inactiveXML, nodeCPUs: nodeCPUs)
        let (placements, created) = try LifecyclePlanner.create(placed, uuids: uuids, inventory: inventory, config: placementConfig)
        return (placements, try attaching(created, placements: placements, uuids: uuids, domain: domain, scope: scope,
                                          migratable: migratable, hostdev: hostdev))
    }

    /// `create --vm` for placements already made: create each vGPU, then attach it; one transaction.
    public static func createAndAttach(_ placements: [Placement], uuids: [DeviceUUID], domain: String, scope: AttachScope,
                                       migratable: Bool = false, hostdev: (VGPU) throws -> String) throws -> Plan {
        let created = Plan(operation: "create", steps: zip(placements, uuids).map { LifecyclePlanner.createStep($0, uuid: $1) })
        return try attaching(created, placements: placements, uuids: uuids, domain: domain, scope: scope, migratable: migratable, hostdev: hostdev)
    }

    /// `created`'s steps (one per placement, in order), each followed by the steps that attach its vGPU.
    private static func attaching(_ created: Plan, placements: [Placement], uuids: [DeviceUUID], domain: String, scope: AttachScope,
                                  migratable: Bool, hostdev: (VGPU) throws -> String) throws -> Plan {
        try refuseMigratable(migratable, scope: scope, domain: domain)
        var steps: [Step] = []
        for ((placement, uuid), create) in zip(zip(placements, uuids), created.steps) {
            let vgpu = VGPU(uuid: uuid, parent: placement.parent, type: placement.type, layout: placement.layout,
                            pciAddress: placement.layout == .nvidiaVFIO ? placement.parent : nil)
            steps.append(create)
            steps.append(contentsOf: attachSteps(uuid: uuid, xml: try hostdev(vgpu), domain: domain, scope: scope))
            if scope.contains(.config) { steps.append(.recordVGPU(domain: domain, request: VGPURequest(uuid: uuid, type: vgpu.type, lifetime: .persistent))) }
            if migratable { steps.append(.addMigrationOverride(domain: domain, alias: DomainEdits.userAlias(for: uuid))) }
        }
        return Plan(operation: "create --vm \(domain)", steps: steps)
    }

    /// libvirt applies a `<qemu:override>` only when QEMU starts, and only from the persistent definition.
    static func refuseMigratable(_ migratable: Bool, scope: AttachScope, domain: String) throws {
        guard migratable, scope != .config else { return }
        throw VGPUError(.invalidInput, "--migratable changes domain \(domain)'s definition, which QEMU reads when it starts; the running domain cannot take it",
                        fix: "shut the domain down first, or use --config (it then applies from the next start)")
    }

    public static func attach(_ vgpu: VGPU, domain: String, scope: AttachScope, xml: String, migratable: Bool = false) throws -> Plan {
        try refuseMigratable(migratable, scope: scope, domain: domain)
        if vgpu.domains.contains(domain) {
            throw VGPUError(.invalidInput, "vGPU \(vgpu.uuid) is already attached to domain \(domain)", fix: "nothing to do")
        }
        if !vgpu.domains.isEmpty {
            throw VGPUError(.busy, "vGPU \(vgpu.uuid) is attached to domain \(vgpu.domains.joined(separator: ", "))",
                            fix: "detach it first: vgpuctl detach \(vgpu.uuid)")
        }
        var steps = attachSteps(uuid: vgpu.uuid, xml: xml, domain: domain, scope: scope)
        if scope.contains(.config) { steps.append(.recordVGPU(domain: domain, request: VGPURequest(uuid: vgpu.uuid, type: vgpu.type, lifetime: .persistent))) }
        if migratable { steps.append(.addMigrationOverride(domain: domain, alias: DomainEdits.userAlias(for: vgpu.uuid))) }
        return Plan(operation: "attach", steps: steps)
    }

    /// `create --vm --lifetime domain`: the domain's definition gets the hostdev and a metadata request; nothing
    /// is created now. The hook creates the vGPU when the domain starts and removes it when it stops.
    /// `migratable`: the definition also gets the migration override, as `create --vm --migratable` gives it.
    /// A vendor-specific VFIO type is placed now (its hostdev names a VF by address, so the VF is chosen once,
    /// preferring `numaNode`) and recorded with the request (`vf`); the hook gives that VF the type at each start
    /// and releases it at each stop.
    public static func requestForDomain(type: String, uuid: DeviceUUID, domain: String, inventory: Inventory,
                                        hostdev: (VGPU) throws -> String, group: String?, policy: PlacementPolicy?,
                                        migratable: Bool = false, numaNode: Int? = nil,
                                        config: PlacementConfig = PlacementConfig()) throws -> (plan: Plan, placement: Placement?) {
        let layouts = Set(inventory.parents.filter { $0.type(type) != nil }.map(\.layout))
        guard !layouts.isEmpty else {
            throw VGPUError(.notFound, "no parent offers vGPU type '\(type)'", fix: "see 'vgpuctl types' (known: \(inventory.typeIDs.joined(separator: ", ")))")
        }
        if inventory.vgpu(uuid) != nil || inventory.definition(uuid) != nil {
            throw VGPUError(.invalidInput, "vGPU \(uuid) already exists or is defined", fix: "choose another --uuid, or drop it")
        }
        var request = VGPURequest(uuid: uuid, type: type, lifetime: .domain, group: group, policy: policy)
        var vgpu = VGPU(uuid: uuid, parent: "", type: type, layout: .mdev)
        var placement: Placement?
        if layouts == [.nvidiaVFIO] {
            let placed = try Placer(inventory: inventory, config: config)
                .place(PlacementRequest(type: type, count: 1, group: group, policy: policy, numaNode: numaNode))[0]
            vgpu = VGPU(uuid: uuid, parent: placed.parent, type: type, layout: .nvidiaVFIO, pciAddress: placed.parent)
            request.vf = placed.parent
            placement = placed
        } else if layouts != [.mdev] {
            throw VGPUError(.invalidInput, "type \(type) is offered both as mdev and as vendor-specific VFIO, so the domain's hostdev cannot name it in advance",
                            fix: "give the domain a persistent vGPU instead: drop --lifetime domain")
        }
        var steps: [Step] = [.attachHostdev(domain: domain, uuid: uuid, xml: try hostdev(vgpu), scope: .config), .recordVGPU(domain: domain, request: request)]
        if migratable { steps.append(.addMigrationOverride(domain: domain, alias: DomainEdits.userAlias(for: uuid))) }
        return (Plan(operation: "create --vm \(domain) --lifetime domain", steps: steps), placement)
    }

    /// The domain a detach applies to: the one given, else the only one that references the vGPU.
    public static func detachedDomain(_ vgpu: VGPU, requested: String?) throws -> String {
        if let requested {
            guard vgpu.domains.contains(requested) else {
                throw VGPUError(.invalidInput, "vGPU \(vgpu.uuid) is not attached to domain \(requested)",
                                fix: vgpu.domains.isEmpty ? "see 'vgpuctl list'" : "it is attached to \(vgpu.domains.joined(separator: ", "))")
            }
            return requested
        }
        guard !vgpu.domains.isEmpty else {
            throw VGPUError(.invalidInput, "vGPU \(vgpu.uuid) is not attached to any domain", fix: "see 'vgpuctl list'")
        }
        guard vgpu.domains.count == 1 else {
            throw VGPUError(.invalidInput, "vGPU \(vgpu.uuid) is attached to several domains: \(vgpu.domains.joined(separator: ", "))",
                            fix: "say which with --vm DOMAIN")
        }
        return vgpu.domains[0]
    }

    /// `requests`: what the domain's vgpuctl metadata records; the vGPU's entry is dropped with the hostdev.
    public static func detach(_ vgpu: VGPU, from domain: String, isActive: Bool, xml: String, requests: [VGPURequest] = []) throws -> Plan {
        // Finished, not undone, if interrupted: re-attaching to a running guest would need it to answer again.
        return Plan(operation: "detach", steps: detachSteps(uuid: vgpu.uuid, xml: xml, domain: domain, isActive: isActive)
                        + forgetSteps(vgpu.uuid, domain: domain, requests: requests), recovery: .rollForward)
    }

    /// `destroy --vm`: detach every vGPU the domain references, and remove those no other domain names (with
    /// their definitions); one another domain also names is only detached, and kept for that domain. Finished,
    /// not undone, if interrupted. `kept` lists the vGPUs left for other domains, so the front end can say so.
    public static func destroy(domain: String, isActive: Bool, inventory: Inventory, requests: [VGPURequest] = [],
                               hostdev: (VGPU) throws -> String) throws -> (plan: Plan, kept: [VGPU]) {
        let referenced = inventory.vgpus.filter { $0.domains.contains(domain) }
        var steps: [Step] = []
        var kept: [VGPU] = []
        for vgpu in referenced {
            steps.append(contentsOf: detachSteps(uuid: vgpu.uuid, xml: try hostdev(vgpu), domain: domain, isActive: isActive))
            steps.append(contentsOf: forgetSteps(vgpu.uuid, domain: domain, requests: requests))
            if vgpu.domains.count > 1 { kept.append(vgpu); continue }
            steps.append(LifecyclePlanner.removeStep(vgpu))
            if let definition = inventory.definition(vgpu.uuid) { steps.append(.deleteDefinition(definition)) }
        }
        return (Plan(operation: "destroy --vm \(domain)", steps: steps, recovery: .rollForward), kept)
    }

    static func forgetSteps(_ uuid: DeviceUUID, domain: String, requests: [VGPURequest]) -> [Step] {
        requests.filter { $0.uuid == uuid }.map { .forgetVGPU(domain: domain, request: $0) }
    }

    /// Attach the definition first, then the running domain: a refused live attach leaves the config to undo.
    static func attachSteps(uuid: DeviceUUID, xml: String, domain: String, scope: AttachScope) -> [Step] {
        var steps: [Step] = []
        if scope.contains(.config) { steps.append(.attachHostdev(domain: domain, uuid: uuid, xml: xml, scope: .config)) }
        if scope.contains(.live) { steps.append(.attachHostdev(domain: domain, uuid: uuid, xml: xml, scope: .live)) }
        return steps
    }

    /// Detach from the running domain first (the guest must release it), then from the definition, so a guest
    /// that never answers leaves everything as it was.
    static func detachSteps(uuid: DeviceUUID, xml: String, domain: String, isActive: Bool) -> [Step] {
        var steps: [Step] = []
        if isActive { steps.append(.detachHostdev(domain: domain, uuid: uuid, xml: xml, scope: .live)) }
        steps.append(.detachHostdev(domain: domain, uuid: uuid, xml: xml, scope: .config))
        return steps
    }
}
