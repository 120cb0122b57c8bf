import Dispatch
import VGPUApp
import VGPUCore

/// What one `startAuto` did: the vGPUs started and, for each definition that failed, the message.
public struct AutoStartResult: Equatable, Sendable {
    public var started: [String]
    public var failures: [String]

    public init(started: [String] = [], failures: [String] = []) {
        self.started = started
        self.failures = failures
    }
}

/// What one reconcile run did, for the counters and the log.
public struct ReconcileCounts: Equatable, Sendable {
    public var actions: Int
    public var failures: Int

    public init(actions: Int, failures: Int) {
        self.actions = actions
        self.failures = failures
    }
}

/// The seam to reconcile: given `prune`, run once and count (live: the application layer's `Reconcile`, as
/// `vgpuctl reconcile` runs it).
public typealias Reconciler = @Sendable (_ prune: Bool) async throws -> ReconcileCounts

/// Everything vgpud asks of the host, as closures: the live ones run the application layer's use cases (each
/// state change in its own session: host lock → recover → inventory → journaled executor, lock released at the
/// end); tests pass fakes. A read that fails throws: the caller logs it and counts it in
/// `vgpud_host_read_failures_total`.
public struct DaemonActions: Sendable {
    /// Starts the auto definitions of `parent` (nil: of every parent) that are not running.
    public var startAuto: @Sendable (_ parent: String?) async throws -> AutoStartResult
    /// Parents that have at least one auto definition (read without the lock: definitions only).
    public var autoParents: @Sendable () async throws -> Set<String>
    public var reconcile: Reconciler
    public var enableVFs: @Sendable (_ pf: String, _ count: Int) async throws -> SRIOVOutcome
    public var vfReadiness: @Sendable (_ pf: String, _ count: Int) async throws -> VFReadiness
    /// The host's state as metric samples (inventory, domains when libvirt answers, hook stats).
    public var snapshot: @Sendable () async throws -> [MetricSample]

    public init(startAuto: @escaping @Sendable (String?) async throws -> AutoStartResult,
                autoParents: @escaping @Sendable () async throws -> Set<String>,
                reconcile: @escaping Reconciler,
                enableVFs: @escaping @Sendable (String, Int) async throws -> SRIOVOutcome,
                vfReadiness: @escaping @Sendable (String, Int) async throws -> VFReadiness,
                snapshot: @escaping @Sendable () async throws -> [MetricSample]) {
        self.startAuto = startAuto
        self.autoParents = autoParents
        self.reconcile = reconcile
        self.enableVFs = enableVFs
        self.vfReadiness = vfReadiness
        self.snapshot = snapshot
    }
}

extension DaemonActions {
    /// The real host, through the application layer's use cases (`application`: the environment, the seconds each
    /// change waits for the host lock a vgpuctl command may hold, and libvirt's settings).
    /// Host work blocks (flock, sysfs, libvirt), so it runs on dispatch queues, never on the async thread pool:
    /// changes one at a time on one queue, reads (definitions, VFs, metric snapshots) on a concurrent one, so a
    /// slow libvirt answer for the metrics never delays a start.
    public static func live(_ application: Application) -> DaemonActions {
        let changes = DispatchQueue(label: "vgpud.host-changes")
        let reads = DispatchQueue(label: "vgpud.host-reads", attributes: .concurrent)
        @Sendable func named(_ command: String) -> Application {
            var named = application
            named.command = command
            return named
        }

        let startAuto: @Sendable (String?) async throws -> AutoStartResult = { parent in
            try await offload(changes) {
                var result = AutoStartResult()
                let outcomes = try named("vgpud start --auto" + (parent.map { " (parent \($0))" } ?? "")).run(StartAutoVGPUs(parent: parent))
                for (definition, outcome) in outcomes {
                    switch outcome {
                    case .success: result.started.append("\(definition.uuid) (\(definition.type) on \(definition.parent))")
                    case .failure(let error): result.failures.append("\(definition.uuid) on \(definition.parent): \(error.message)")
                    }
                }
                return result
            }
        }
        return DaemonActions(
            startAuto: startAuto,
            autoParents: { try await offload(reads) { try application.read(ReadAutoParents()) } },
            reconcile: { prune in
                try await offload(changes) {
                    let outcome = try named("vgpud reconcile").run(Reconcile(prune: prune))
                    return ReconcileCounts(actions: outcome.results.count + outcome.interrupted.count, failures: outcome.failures)
                }
            },
            enableVFs: { pf, count in
                try await offload(changes) { try named("vgpud enable VFs on \(pf)").run(EnableVFs(pf: pf, count: count)) }
            },
            vfReadiness: { pf, count in
                try await offload(reads) { try application.read(ReadVFReadiness(pf: pf, wanted: count)) }
            },
            snapshot: {
                try await offload(reads) { try application.read(ReadMetricSamples()).samples }
            })
    }
}

/// Runs blocking work on `queue` and awaits it.
func offload<T: Sendable>(_ queue: DispatchQueue, _ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        queue.async {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
    }
}
