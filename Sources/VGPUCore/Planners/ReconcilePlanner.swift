/// Desired state against actual state, as one report: what to start, create or remove (each its own plan, so
/// one failure does not hold up the rest), which running vGPUs nothing references (orphans), and what no
/// plan can fix. Pure: the front end reads the host, this decides, the executor acts.
public enum ReconcilePlanner {
    /// A domain as reconcile sees it: its persistent definition, and its live XML while it runs.
    public struct Domain: Sendable {
        public var name: String
        public var isActive: Bool
        public var autostart: Bool
        public var definition: DomainDocument
        public var live: DomainDocument?

        public init(name: String, isActive: Bool, autostart: Bool, definition: DomainDocument, live: DomainDocument? = nil) {
            self.name = name
            self.isActive = isActive
            self.autostart = autostart
            self.definition = definition
            self.live = live
        }
    }

    public struct Action: Sendable {
        /// Why: "auto definition not running", "domain web01's metadata asks for it", …
        public var reason: String
        public var plan: Plan
        /// The vGPU the action removes, if it removes one: the front end first checks no process holds it.
        public var removes: VGPU?
    }

    public struct Report: Sendable {
        public var actions: [Action] = []
        /// Running vGPUs that no domain references and no definition describes.
        public var orphans: [VGPU] = []
        /// What reconcile cannot fix, one line each.
        public var problems: [String] = []
    }

    /// `domains` nil: libvirt could not be asked, so only definitions are reconciled and nothing counts as an
    /// orphan (a vGPU may belong to a domain nobody could see). `prune`: orphans become remove actions.
    public static func plan(inventory: Inventory, domains: [Domain]?, config: PlacementConfig, prune: Bool) -> Report {
        var report = Report()
        var host = inventory
        func add(_ reason: String, removing vgpu: VGPU? = nil, _ plan: () throws -> Plan) {
            do {
                let planned = try plan()
                guard !planned.steps.isEmpty else { return }
                for step in planned.steps { host.apply(step) }
                report.actions.append(Action(reason: reason, plan: planned, removes: vgpu))
            } catch let error as VGPUError {
                report.problems.append("\(reason), but: \(error.message)")
            } catch {}
        }

        // 1. Every auto definition runs.
        for definition in inventory.definitions where definition.start == .auto && host.vgpu(definition.uuid) == nil {
            add("auto definition \(definition.uuid) (\(definition.type) on \(definition.parent)) is not running") {
                try DefinitionPlanner.start(definition.uuid, inventory: host)
            }
        }
        guard let domains else {
            report.problems.append("libvirt could not be asked: domains were not reconciled and no vGPU is called an orphan")
            return report
        }

        var namedBy: [HostdevSource: Set<String>] = [:]
        for domain in domains {
            for source in domain.definition.sources.union(domain.live?.sources ?? []) { namedBy[source, default: []].insert(domain.name) }
        }
        // Every UUID some domain's metadata asks for: never an orphan, even before any hostdev names it.
        var requested = Set<DeviceUUID>()
        for domain in domains.sorted(by: { $0.name < $1.name }) {
            let requests = VGPUMetadata.requests(in: domain.definition)
            requested.formUnion(requests.requests.map(\.uuid))
            report.problems += requests.problems
            // 2. A running domain's devices exist (QEMU holds them; if one is gone, only a restart can help).
            for uuid in domain.live?.mdevUUIDs ?? [] where host.vgpu(uuid) == nil {
                report.problems.append("running domain \(domain.name) uses vGPU \(uuid), which no longer exists: restart the domain")
            }
            // 3. What a domain will need at its next start: metadata requests that live on (persistent), and
            //    the devices of autostart domains. Domain-lifetime ones are the hook's to create.
            for uuid in domain.definition.mdevUUIDs where host.vgpu(uuid) == nil {
                let request = requests.requests.first { $0.uuid == uuid }
                if request?.lifetime == .domain { continue }
                if let definition = host.definition(uuid) {
                    guard domain.autostart || domain.isActive, definition.start == .manual else { continue }
                    add("autostart domain \(domain.name) needs vGPU \(uuid) (manual definition)") { try DefinitionPlanner.start(uuid, inventory: host) }
                } else if let request {
                    add("domain \(domain.name)'s metadata asks for \(request.type) vGPU \(uuid)") {
                        try LifecyclePlanner.create(PlacementRequest(type: request.type, count: 1, group: request.group, policy: request.policy),
                                                    uuids: [uuid], inventory: host, config: config).plan
                    }
                } else {
                    report.problems.append("domain \(domain.name) references vGPU \(uuid), which nobody defined: it will not start "
                                           + "(define it with 'vgpuctl define --uuid \(uuid) --type TYPE')")
                }
            }
            // 4. A domain-lifetime vGPU of a domain that is not running: the release the hook did not do.
            if !domain.isActive {
                for request in requests.requests where request.lifetime == .domain {
                    guard let vgpu = host.vgpu(request.uuid), host.definition(request.uuid) == nil,
                          !domains.contains(where: { $0.isActive && $0.live?.references(.mdev(request.uuid)) == true }) else { continue }
                    add("domain \(domain.name) is not running and vGPU \(request.uuid) lives only while it runs", removing: vgpu) {
                        Plan(operation: "reconcile: release", steps: [LifecyclePlanner.removeStep(vgpu)], recovery: .rollForward)
                    }
                }
            }
        }
        // 5. Two domains naming one vGPU cannot both start.
        for (source, names) in namedBy.sorted(by: { $0.key.description < $1.key.description }) where names.count > 1 {
            report.problems.append("\(source) is named by domains \(names.sorted().joined(separator: ", ")): only one of them can run at a time")
        }
        // 6. Orphans: running, unreferenced, undefined.
        for vgpu in host.vgpus where namedBy[vgpu.source] == nil && host.definition(vgpu.uuid) == nil && !requested.contains(vgpu.uuid) {
            if prune {
                add("orphan vGPU \(vgpu.uuid) (\(vgpu.type) on \(vgpu.parent)): no domain references it, no definition describes it", removing: vgpu) {
                    Plan(operation: "reconcile: prune", steps: [LifecyclePlanner.removeStep(vgpu)], recovery: .rollForward)
                }
            } else {
                report.orphans.append(vgpu)
            }
        }
        return report
    }
}
