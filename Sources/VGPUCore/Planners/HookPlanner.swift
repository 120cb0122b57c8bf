/// What the libvirt hook does for a domain, decided from the domain XML libvirt passes on stdin, the host's
/// inventory and which running domains use which devices (from libvirt's status files: the hook never calls
/// libvirt back). Pure: every decision is tested without a kernel or a daemon.
public enum HookPlanner {
    /// `prepare begin`: every mdev the domain references must exist before QEMU starts. A running one is kept
    /// (unless another running domain uses it: a clone); a defined one is started; one the domain's vgpuctl
    /// metadata describes is placed and created; anything else refuses the start, naming the UUID and the fix.
    public static func prepare(_ domain: DomainDocument, inventory: Inventory, running: [HostdevSource: Set<String>],
                               config: PlacementConfig) throws -> Plan {
        let name = domain.name ?? "?"
        let requests = VGPUMetadata.requests(in: domain).requests
        var host = inventory
        var steps: [Step] = []
        for uuid in domain.mdevUUIDs {
            if let vgpu = host.vgpu(uuid) {
                let others = (running[.mdev(uuid)] ?? []).subtracting([name]).sorted()
                guard others.isEmpty else {
                    throw VGPUError(.busy, "domain \(name) names vGPU \(uuid), which running domain \(others.joined(separator: ", ")) uses (a cloned domain?)",
                                    fix: "give \(name) its own vGPU: 'vgpuctl detach \(uuid) --vm \(name)', then 'vgpuctl create --type \(vgpu.type) --vm \(name)'")
                }
                continue
            }
            let plan: Plan
            if host.definition(uuid) != nil {
                plan = try DefinitionPlanner.start(uuid, inventory: host)
            } else if let request = requests.first(where: { $0.uuid == uuid }) {
                let placement = PlacementRequest(type: request.type, count: 1, group: request.group, policy: request.policy)
                plan = try LifecyclePlanner.create(placement, uuids: [uuid], inventory: host, config: config).plan
            } else {
                throw VGPUError(.notFound, "domain \(name) references vGPU \(uuid), which does not exist, is not defined, and no vgpuctl metadata describes it",
                                fix: "define it ('vgpuctl define --uuid \(uuid) --type TYPE'), or give the domain a vGPU with 'vgpuctl create --type TYPE --vm \(name)'")
            }
            for step in plan.steps { host.apply(step) }
            steps += plan.steps
        }
        return Plan(operation: "hook prepare \(name)", steps: steps)
    }

    /// `release end`: remove the vGPUs whose lifetime is the domain's (its metadata says so), unless another
    /// running domain uses one or it has a definition; persistent ones stay.
    public static func release(_ domain: DomainDocument, inventory: Inventory, running: [HostdevSource: Set<String>]) -> Plan {
        let name = domain.name ?? "?"
        let steps = VGPUMetadata.requests(in: domain).requests.filter { $0.lifetime == .domain }.compactMap { request -> Step? in
            guard let vgpu = inventory.vgpu(request.uuid), inventory.definition(request.uuid) == nil,
                  (running[.mdev(request.uuid)] ?? []).subtracting([name]).isEmpty else { return nil }
            return LifecyclePlanner.removeStep(vgpu)
        }
        return Plan(operation: "hook release \(name)", steps: steps, recovery: .rollForward)
    }
}
