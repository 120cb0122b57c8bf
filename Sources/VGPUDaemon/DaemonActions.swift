import Dispatch
import VGPUApp
import VGPUCore
import VGPUHost

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

/// The seam to reconcile: given `prune`, run once and count (live: the application layer's `Reconciliation`,
/// as `vgpuctl reconcile` runs it).
public typealias Reconciler = @Sendable (_ prune: Bool) async throws -> ReconcileCounts

/// Everything vgpud asks of the host, as closures: the live ones call the application layer (each state change
/// through a `HostSession`: host lock → recover → inventory → journaled executor, lock released at the end);
/// tests pass fakes.
public struct DaemonActions: Sendable {
    /// Starts the auto definitions of `parent` (nil: of every parent) that are not running.
    public var startAuto: @Sendable (_ parent: String?) async throws -> AutoStartResult
    /// Parents that have at least one auto definition (read without the lock: definitions only).
    public var autoParents: @Sendable () async -> Set<String>
    public var reconcile: Reconciler
    public var enableVFs: @Sendable (_ pf: String, _ count: Int) async throws -> SRIOVOutcome
    public var vfReadiness: @Sendable (_ pf: String, _ count: Int) async -> VFReadiness
    /// The host's state as metric samples (inventory, domains when libvirt answers, hook stats).
    public var snapshot: @Sendable () async -> [MetricSample]

    public init(startAuto: @escaping @Sendable (String?) async throws -> AutoStartResult,
                autoParents: @escaping @Sendable () async -> Set<String>,
                reconcile: @escaping Reconciler,
                enableVFs: @escaping @Sendable (String, Int) async throws -> SRIOVOutcome,
                vfReadiness: @escaping @Sendable (String, Int) async -> VFReadiness,
                snapshot: @escaping @Sendable () async -> [MetricSample]) {
        self.startAuto = startAuto
        self.autoParents = autoParents
        self.reconcile = reconcile
        self.enableVFs = enableVFs
        self.vfReadiness = vfReadiness
        self.snapshot = snapshot
    }
}

extension DaemonActions {
    /// The real host. `lockWait`: seconds each operation waits for the host lock (a vgpuctl command may hold it).
    /// Host work blocks (flock, sysfs, libvirt), so it runs on dispatch queues, never on the async thread pool:
    /// changes one at a time on one queue, reads (definitions, VFs, metric snapshots) on a concurrent one, so a
    /// slow libvirt answer for the metrics never delays a start.
    public static func live(host: HostContext, libvirt: LibvirtSettings, lockWait: Double) -> DaemonActions {
        let changes = DispatchQueue(label: "vgpud.host-changes")
        let reads = DispatchQueue(label: "vgpud.host-reads", attributes: .concurrent)

        let startAuto: @Sendable (String?) async throws -> AutoStartResult = { parent in
            try await offload(changes) {
                let session = try HostSession(host: host, wait: lockWait, libvirt: libvirt,
                                              command: "vgpud start --auto" + (parent.map { " (parent \($0))" } ?? ""))
                var result = AutoStartResult()
                for (definition, outcome) in try session.startAuto(parent: parent) {
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
            autoParents: {
                (try? await offload(reads) {
                    Set(host.definitionStore.all().definitions.filter { $0.start == .auto }.map(\.parent))
                }) ?? []
            },
            reconcile: { prune in
                try await offload(changes) {
                    let outcome = try Reconciliation(host: host, libvirt: libvirt)
                        .run(dryRun: false, prune: prune, wait: lockWait, command: "vgpud reconcile")
                    return ReconcileCounts(actions: outcome.results.count + outcome.interrupted.count, failures: outcome.failures)
                }
            },
            enableVFs: { pf, count in
                try await offload(changes) {
                    let session = try HostSession(host: host, wait: lockWait, libvirt: libvirt, command: "vgpud enable VFs on \(pf)")
                    return try session.enableVFs(pf: pf, count: count)
                }
            },
            vfReadiness: { pf, count in
                (try? await offload(reads) { host.vfReadiness(pf: pf, wanted: count) }) ?? VFReadiness(wanted: count, vfs: [], parents: [])
            },
            snapshot: {
                (try? await offload(reads) { snapshot(host: host, libvirt: libvirt) }) ?? []
            })
    }

    /// Read-only: never takes the host lock. Domains come from libvirt when it answers, else are left out.
    static func snapshot(host: HostContext, libvirt: LibvirtSettings) -> [MetricSample] {
        guard var inventory = try? host.inventory() else { return [] }
        var domainsKnown = false
        if let connection = try? LibvirtConnection(uri: libvirt.uri), let annotated = try? connection.annotate(inventory) {
            inventory = annotated
            domainsKnown = true
        }
        var samples = InventoryMetrics.samples(inventory, domainsKnown: domainsKnown)
        let statsFile = Paths.join(host.paths.runDirectory, "hook-stats")
        if let text = try? host.os.read(statsFile), let stats = HookStats.parse(text) { samples += stats.samples }
        return samples
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
