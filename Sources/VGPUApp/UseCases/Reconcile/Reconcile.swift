import VGPUCore
import VGPUHost

/// `vgpuctl reconcile`, the timer and vgpud: read desired and actual state, plan (ReconcilePlanner), and execute
/// each action on its own, under the host lock for the whole run. `PreviewReconcile` is the dry run.
public struct Reconcile: ChangeUseCase {
    public var prune: Bool

    public init(prune: Bool) { self.prune = prune }

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

    public func run(in session: Session) throws -> Outcome {
        let environment = session.environment
        let report = try Self.plan(environment, connection: try? session.libvirt(), prune: prune)
        var results: [Result<Void, VGPUError>] = []
        for action in report.actions {
            do {
                if let vgpu = action.removes { try DeviceHolders(paths: environment.paths, os: environment.os).refuseIfHeld(vgpu) }
                try session.execute(action.plan)
                results.append(.success(()))
            } catch let error as VGPUError {
                results.append(.failure(error))
            }
        }
        return Outcome(report: report, interrupted: session.recovered, results: results, dryRun: false)
    }

    /// The inventory and, when libvirt answers, every domain's definition and live XML.
    static func plan(_ environment: Environment, connection: Hypervisor?, prune: Bool) throws -> ReconcilePlanner.Report {
        // The planner reads which domain names which vGPU from the domains themselves: each domain's XML is
        // fetched once, here (annotating the inventory would fetch it all again).
        let inventory = try environment.inventory()
        var domains: [ReconcilePlanner.Domain]?
        if let connection {
            domains = try connection.domains().map { info in
                let definition = try DomainDocument(xml: connection.xml(of: info.name, inactive: true), what: "the inactive XML of domain \(info.name)")
                let live = try info.isActive ? DomainDocument(xml: connection.xml(of: info.name, inactive: false), what: "the live XML of domain \(info.name)") : nil
                return ReconcilePlanner.Domain(name: info.name, isActive: info.isActive, autostart: info.autostart, definition: definition, live: live)
            }
        }
        var report = ReconcilePlanner.plan(inventory: inventory, domains: domains, config: try environment.placementConfig(), prune: prune)
        // Whole-GPU passthroughs: only with libvirt's answer can a record be known to have lost its domain.
        let binding = PCIDriverBinding(paths: environment.paths, os: environment.os)
        let records = binding.records.all()
        if let domains, !records.isEmpty {
            let drift = PassthroughPlanner.reconcile(records: records, domains: domains, driver: binding.driver(of:), prune: prune)
            report.actions += drift.actions
            report.problems += drift.problems
        }
        return report
    }
}

/// `vgpuctl reconcile --dry-run`: what `Reconcile` would do, and the interrupted operations it would recover; no
/// lock, no change.
public struct PreviewReconcile: ReadUseCase {
    public var prune: Bool

    public init(prune: Bool) { self.prune = prune }

    public func read(in environment: Environment) throws -> Reconcile.Outcome {
        let interrupted = try Journal(paths: environment.paths, os: environment.os).pending().map { "interrupted '\($0.command)' (pid \($0.pid))" }
        return Reconcile.Outcome(report: try Reconcile.plan(environment, connection: try? environment.connect(), prune: prune),
                                 interrupted: interrupted, results: [], dryRun: true)
    }
}
