/// What the libvirt hook does for a domain, decided from the domain XML libvirt passes on stdin, the host's
/// inventory and which running domains use which devices (from libvirt's status files: the hook never calls
/// libvirt back). Pure: every decision is tested without a kernel or a daemon.
public enum HookPlanner {
    /// `prepare begin`: every mdev the domain references must exist before QEMU starts. A running one is kept
    /// (unless another running domain uses it: a clone); a defined one is started; one the domain's vgpuctl
    /// metadata describes is placed and created; anything else refuses the start, naming the UUID and the fix.
    /// `held`: which vGPUs a process holds open (the kernel's /proc): this domain's QEMU has not started yet at
    /// prepare, so any holder is foreign (a QEMU of another libvirtd, or started by hand) and the start is
    /// refused, naming it, instead of letting QEMU fail on a device it cannot open.
    public static func prepare(_ domain: DomainDocument, inventory: Inventory, running: [HostdevSource: Set<String>],
                               held: HeldDevices = [:], config: PlacementConfig) throws -> Plan {
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
                if let holders = held[uuid], !holders.isEmpty {
                    let named = holders.map(\.description).joined(separator: "; ")
                    throw VGPUError(.busy, "domain \(name) names vGPU \(uuid), which another process holds: \(named) (a QEMU of another libvirtd, or one started by hand?)",
                                    fix: "stop process \(holders.map { String($0.pid) }.joined(separator: ", ")) (for a QEMU, shut its domain down), then start \(name) again; or give \(name) its own vGPU ('vgpuctl detach \(uuid) --vm \(name)', then 'vgpuctl create --type \(vgpu.type) --vm \(name)')")
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
        for request in requests where request.lifetime == .domain {
            guard let vf = request.vf, domain.references(.pci(vf)) else { continue }
            if let step = try prepareVF(vf, for: request, domain: name, inventory: host, running: running, held: held) {
                host.apply(step)
                steps.append(step)
            }
        }
        return Plan(operation: "hook prepare \(name)", steps: steps)
    }

    /// A domain-lifetime vendor-specific VFIO vGPU at `prepare begin`: its reserved VF gets the type (nil: it
    /// already has it, from a start that was not released). Refused, naming the VF and the fix, when the VF is
    /// gone, another running domain or a process uses it, it runs another vGPU, or its GPU no longer offers the
    /// type (it hosts another type, or its maximum of this one).
    static func prepareVF(_ vf: String, for request: VGPURequest, domain name: String, inventory: Inventory,
                          running: [HostdevSource: Set<String>], held: HeldDevices) throws -> Step? {
        let uuid = request.uuid
        guard let parent = inventory.parent(vf) else {
            throw VGPUError(.notFound, "domain \(name) needs VF \(vf) for its vGPU \(uuid) (\(request.type)), and no VF \(vf) offers vGPU types",
                            fix: "enable the GPU's VFs (sriov_numvfs; vgpud does it from the config) and let its vendor driver bind them, then start \(name) again")
        }
        let others = (running[.pci(vf)] ?? []).subtracting([name]).sorted()
        guard others.isEmpty else {
            throw VGPUError(.busy, "domain \(name) names VF \(vf), which running domain \(others.joined(separator: ", ")) uses",
                            fix: "give \(name) its own: 'vgpuctl destroy --vm \(name)', then 'vgpuctl create --type \(request.type) --vm \(name) --lifetime domain'")
        }
        if let current = inventory.vgpus.first(where: { $0.parent == vf }) {
            guard current.uuid == uuid, current.type == request.type else {
                throw VGPUError(.busy, "domain \(name) needs VF \(vf) for its vGPU \(uuid) (\(request.type)), but the VF is vGPU \(current.uuid) (\(current.type)) now",
                                fix: "remove that vGPU ('vgpuctl remove \(current.uuid)') if nothing uses it, or give \(name) another VF: 'vgpuctl destroy --vm \(name)', then 'vgpuctl create --type \(request.type) --vm \(name) --lifetime domain'")
            }
            if let holders = held[uuid], !holders.isEmpty {
                throw VGPUError(.busy, "domain \(name) names VF \(vf) (vGPU \(uuid)), which another process holds: \(holders.map(\.description).joined(separator: "; "))",
                                fix: "stop process \(holders.map { String($0.pid) }.joined(separator: ", ")), then start \(name) again")
            }
            return nil
        }
        guard (parent.type(request.type)?.availableInstances ?? 0) > 0 else {
            throw VGPUError(.noCapacity, "domain \(name) needs VF \(vf) as a \(request.type) vGPU, which it does not offer now (GPU \(parent.gpu) runs another type, or holds its maximum of \(request.type))",
                            fix: "free GPU \(parent.gpu) (see 'vgpuctl list'), or place \(name)'s vGPU again: 'vgpuctl destroy --vm \(name)', then 'vgpuctl create --type \(request.type) --vm \(name) --lifetime domain'")
        }
        return .assignVF(vf: vf, type: request.type, uuid: uuid)
    }

    /// Why libvirt released a domain (`release end`'s fourth argument since libvirt 10.5; older ones pass `-`).
    public enum ReleaseReason: Equatable, Sendable {
        /// It migrated away: this host no longer runs it.
        case migrated
        /// It failed to start, which for an incoming migration means the migration failed.
        case failed
        case other

        public init(argument: String?) {
            switch argument {
            case "migrated": self = .migrated
            case "failed": self = .failed
            default: self = .other
            }
        }
    }

    /// `release end`: remove the vGPUs whose lifetime is the domain's (its metadata says so), unless another
    /// running domain uses one or it has a definition; persistent ones stay. A domain that migrated away also
    /// gives up its undefined persistent ones (the destination has its own now, and the metadata recreates
    /// them should it start here again). `incoming`: what the hook created at `migrate begin` for this domain,
    /// removed (definitions too) when the incoming migration failed, and otherwise kept.
    public static func release(_ domain: DomainDocument, inventory: Inventory, running: [HostdevSource: Set<String>],
                               held: HeldDevices = [:], reason: ReleaseReason = .other, incoming: [DeviceUUID] = []) -> Plan {
        releaseDecision(domain, inventory: inventory, running: running, held: held, reason: reason, incoming: incoming).plan
    }

    /// `release` with the warnings for the vGPUs it kept because a process holds them (`held`, the kernel's
    /// /proc): the domain released has no QEMU any more, so the holder is another process, and writing the
    /// vGPU's `remove` would block (the kernel waits for the holder) with libvirtd waiting for the hook. A
    /// held vGPU is never removed; the warning names it, the holder and what to do.
    public static func releaseDecision(_ domain: DomainDocument, inventory: Inventory, running: [HostdevSource: Set<String>],
                                       held: HeldDevices = [:], reason: ReleaseReason = .other,
                                       incoming: [DeviceUUID] = []) -> (plan: Plan, warnings: [String]) {
        let name = domain.name ?? "?"
        var warnings: [String] = []
        let unused = { (uuid: DeviceUUID) -> Bool in
            let source = inventory.vgpu(uuid)?.source ?? .mdev(uuid)
            guard (running[source] ?? []).subtracting([name]).isEmpty else { return false }
            guard let holders = held[uuid], !holders.isEmpty else { return true }
            warnings.append("domain \(name): kept vGPU \(uuid), which another process holds: \(holders.map(\.description).joined(separator: "; ")); "
                            + "remove it once that process has let go ('vgpuctl remove \(uuid)', or 'vgpuctl reconcile --prune')")
            return false
        }
        var steps: [Step] = [], removed = Set<DeviceUUID>()
        if reason == .failed {
            for uuid in incoming {
                guard let vgpu = inventory.vgpu(uuid), unused(uuid) else { continue }
                if let definition = inventory.definition(uuid) { steps.append(.deleteDefinition(definition)) }
                steps.append(LifecyclePlanner.removeStep(vgpu))
                removed.insert(uuid)
            }
        }
        let released = VGPUMetadata.requests(in: domain).requests.filter { $0.lifetime == .domain || reason == .migrated }
        for request in released where !removed.contains(request.uuid) {
            guard let vgpu = inventory.vgpu(request.uuid), inventory.definition(request.uuid) == nil, unused(request.uuid) else { continue }
            steps.append(LifecyclePlanner.removeStep(vgpu))
        }
        var seen = Set<String>()
        return (Plan(operation: "hook release \(name)", steps: steps, recovery: .rollForward), warnings.filter { seen.insert($0).inserted })
    }
}
