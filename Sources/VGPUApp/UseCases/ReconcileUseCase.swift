import VGPUCore
import VGPUHost

/// `vgpuctl reconcile`, the timer and vgpud: read desired and actual state, plan (ReconcilePlanner), and unless
/// it is a dry run, execute each action on its own under the host lock.
public struct Reconciliation {
    public let host: HostContext
    public let libvirt: LibvirtSettings

    public init(host: HostContext, libvirt: LibvirtSettings) {
        self.host = host
        self.libvirt = libvirt
    }

    public struct Outcome: Sendable {
        public var report: ReconcilePlanner.Report
        /// Interrupted operations found in the journal (recovered first unless a dry run).
        public var interrupted: [String]
        /// One result per action, in order (empty for a dry run).
        public var results: [Result<Void, VGPUError>]
        public var dryRun: Bool

        /// Whether anything was (or, for a dry run, would be) changed.
        public var acts: Bool { !report.actions.isEmpty || !interrupted.isEmpty }
        public var failures: Int { results.filter { if case .failure = $0 { return true } else { return false } }.count }
    }

    /// A dry run takes no lock and changes nothing; otherwise the host lock is held for the whole run.
    public func run(dryRun: Bool, prune: Bool, wait: Double, command: String) throws -> Outcome {
        if dryRun {
            let interrupted = try Journal(paths: host.paths, os: host.os).pending().map { "interrupted '\($0.command)' (pid \($0.pid))" }
            return Outcome(report: try plan(connection: try? LibvirtConnection(uri: libvirt.uri), prune: prune),
                           interrupted: interrupted, results: [], dryRun: true)
        }
        let session = try HostSession(host: host, wait: wait, libvirt: libvirt, command: command)
        let report = try plan(connection: try? session.libvirt(), prune: prune)
        var results: [Result<Void, VGPUError>] = []
        for action in report.actions {
            do {
                if let vgpu = action.removes { try DeviceHolders(paths: host.paths, os: host.os).refuseIfHeld(vgpu) }
                try session.execute(action.plan)
                results.append(.success(()))
            } catch let error as VGPUError {
                results.append(.failure(error))
            }
        }
        return Outcome(report: report, interrupted: session.recovered, results: results, dryRun: false)
    }

    /// The inventory and, when libvirt answers, every domain's definition and live XML.
    private func plan(connection: Hypervisor?, prune: Bool) throws -> ReconcilePlanner.Report {
        // The planner reads which domain names which vGPU from the domains themselves: each domain's XML is
        // fetched once, here (annotating the inventory would fetch it all again).
        let inventory = try host.inventory()
        var domains: [ReconcilePlanner.Domain]?
        if let connection {
            domains = try connection.domains().map { info in
                let definition = try DomainDocument(xml: connection.xml(of: info.name, inactive: true), what: "the inactive XML of domain \(info.name)")
                let live = try info.isActive ? DomainDocument(xml: connection.xml(of: info.name, inactive: false), what: "the live XML of domain \(info.name)") : nil
                return ReconcilePlanner.Domain(name: info.name, isActive: info.isActive, autostart: info.autostart, definition: definition, live: live)
            }
        }
        return ReconcilePlanner.plan(inventory: inventory, domains: domains, config: try host.placementConfig(), prune: prune)
    }
}
