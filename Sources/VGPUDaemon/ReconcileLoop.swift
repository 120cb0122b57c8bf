import Logging
import ServiceLifecycle
import VGPUApp
import VGPUCore

/// Start-up, then the periodic repair: enables the configured SR-IOV VFs and waits (bounded) for them to become
/// vGPU parents, starts every missing `auto` vGPU, applies the selected layout (`LayoutKeeper`), then runs reconcile every `interval` seconds (pruning only
/// when told to).
public struct ReconcileLoop: Service, CustomStringConvertible {
    public var description: String { "ReconcileLoop" }
    public struct Settings: Sendable {
        public var interval: Double
        public var prune: Bool
        /// PF → VFs to enable at start (`sriov_numvfs`).
        public var vfs: [(pf: String, count: Int)]
        /// Seconds to wait for enabled VFs to become parents before going on without them.
        public var vfWait: Double
        /// Seconds between two looks at the VFs while waiting.
        public var vfPoll: Double

        public init(interval: Double = 300, prune: Bool = false, vfs: [(pf: String, count: Int)] = [], vfWait: Double = 60, vfPoll: Double = 0.5) {
            self.interval = interval
            self.prune = prune
            self.vfs = vfs
            self.vfWait = vfWait
            self.vfPoll = vfPoll
        }
    }

    let settings: Settings
    let actions: DaemonActions
    let metrics: DaemonMetrics
    let logger: Logger
    let sleep: AutoStarter.Sleep
    let changed: @Sendable () -> Void
    let keeper: LayoutKeeper?

    public init(settings: Settings, actions: DaemonActions, metrics: DaemonMetrics, logger: Logger, keeper: LayoutKeeper? = nil,
                sleep: @escaping AutoStarter.Sleep = { try await Task.sleep(nanoseconds: UInt64($0 * 1_000_000_000)) },
                changed: @escaping @Sendable () -> Void = {}) {
        self.settings = settings
        self.actions = actions
        self.metrics = metrics
        self.logger = logger
        self.sleep = sleep
        self.changed = changed
        self.keeper = keeper
    }

    public func run() async throws {
        await startUp()
        while true {
            do {
                try await cancelWhenGracefulShutdown { [sleep, settings] in try await sleep(settings.interval) }
            } catch {
                return  // shutdown (or cancellation) while waiting
            }
            if Task.isCancelled || Task.isShuttingDownGracefully { return }
            await reconcileOnce()
        }
    }

    /// VFs first, then everything missing (as at boot), then the selected layout.
    public func startUp() async {
        await enableVFs()
        if Task.isCancelled || Task.isShuttingDownGracefully { return }
        await reconcileOnce()
        if Task.isCancelled || Task.isShuttingDownGracefully { return }
        await keeper?.applyAtStart()
    }

    public func enableVFs() async {
        for (pf, count) in settings.vfs {
            do {
                switch try await actions.enableVFs(pf, count) {
                case .alreadyEnabled(let current): logger.info("GPU \(pf): \(current) VFs already enabled")
                case .enabled(let wanted): logger.info("GPU \(pf): enabled \(wanted) VFs (sriov_numvfs)")
                }
            } catch {
                logger.error("GPU \(pf): \(error)")
                continue
            }
            var waited = 0.0
            var readiness = await metrics.hostRead("the VFs of \(pf)", logger: logger, fallback: VFReadiness(wanted: count, vfs: [], parents: [])) {
                try await actions.vfReadiness(pf, count)
            }
            while !readiness.isReady && waited < settings.vfWait {
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                do { try await sleep(settings.vfPoll) } catch { return }
                waited += settings.vfPoll
                readiness = await metrics.hostRead("the VFs of \(pf)", logger: logger, fallback: readiness) { try await actions.vfReadiness(pf, count) }
            }
            if readiness.isReady {
                logger.info("GPU \(pf): \(readiness.vfs.count) VFs ready as vGPU parents")
            } else {
                logger.warning("GPU \(pf): after \(Int(settings.vfWait)) s, \(readiness.vfs.count) of \(count) VFs exist and \(readiness.parents.count) host vGPU types; going on (udev events start the rest as they come)")
            }
        }
    }

    public func reconcileOnce() async {
        metrics.reconcileRuns.increment()
        do {
            let counts = try await actions.reconcile(settings.prune)
            metrics.reconcileActions.increment(by: Int64(counts.actions))
            metrics.reconcileFailures.increment(by: Int64(counts.failures))
            if counts.actions > 0 || counts.failures > 0 {
                logger.info("reconcile: \(counts.actions) actions, \(counts.failures) failures")
            }
        } catch {
            metrics.reconcileFailures.increment()
            logger.error("reconcile failed: \(error)")
        }
        changed()
    }
}

/// Keeps the host gauges fresh: after every change it is told about (udev events, starts, reconciles) and every
/// `interval` seconds. A scrape only renders the registry, so it never waits on sysfs or libvirt.
public final class MetricsRefresher: Service, Sendable, CustomStringConvertible {
    public var description: String { "MetricsRefresher" }
    let actions: DaemonActions
    let metrics: DaemonMetrics
    let interval: Double
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    let logger: Logger

    public init(actions: DaemonActions, metrics: DaemonMetrics, interval: Double = 15, logger: Logger = Logger(label: "vgpud")) {
        self.actions = actions
        self.metrics = metrics
        self.interval = interval
        self.logger = logger
        (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Asks for a refresh (coalesced: one pending at most).
    public func trigger() { continuation.yield() }

    /// One refresh now. A host that cannot be read clears the host gauges; the failure is logged and counted.
    public func refresh() async {
        metrics.apply(await metrics.hostRead("the host for the metrics", logger: logger, fallback: []) { try await actions.snapshot() })
    }

    public func run() async throws {
        await refresh()
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { [continuation, interval] in
                while !Task.isCancelled {
                    try? await Task.sleep(nanoseconds: UInt64(interval * 1_000_000_000))
                    continuation.yield()
                }
            }
            for await _ in stream.cancelOnGracefulShutdown() { await refresh() }
            group.cancelAll()
        }
    }
}
