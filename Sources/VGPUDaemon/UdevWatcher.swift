import Dispatch
import Logging
import ServiceLifecycle
import VGPUCore
import VGPUUdev

/// Watches udev: when a parent appears it starts that parent's `auto` vGPUs (through `AutoStarter`: bounded
/// exponential backoff), then, with a selected layout, has `LayoutKeeper` apply it; every event that concerns vGPUs asks for fresh metrics. The blocking libudev reads
/// run on a thread of their own and are bridged into an async stream; a graceful shutdown stops the source, which
/// ends that thread.
public struct UdevWatcher: Service, CustomStringConvertible {
    public var description: String { "UdevWatcher" }
    let source: UdevEventSource
    let starter: AutoStarter
    let keeper: LayoutKeeper?
    let actions: DaemonActions
    let metrics: DaemonMetrics
    let logger: Logger
    /// Called after every event that concerns vGPUs (the metrics refresher's trigger).
    let changed: @Sendable () -> Void
    /// PF → VFs the config enables (`sriov_numvfs`): enabled again when the PF's driver binds again.
    let vfs: [(pf: String, count: Int)]

    public init(source: UdevEventSource, starter: AutoStarter, keeper: LayoutKeeper? = nil, actions: DaemonActions,
                metrics: DaemonMetrics, logger: Logger, vfs: [(pf: String, count: Int)] = [], changed: @escaping @Sendable () -> Void = {}) {
        self.vfs = vfs
        self.source = source
        self.starter = starter
        self.keeper = keeper
        self.actions = actions
        self.metrics = metrics
        self.logger = logger
        self.changed = changed
    }

    public func run() async throws {
        let events = Self.stream(source)
        try await withThrowingDiscardingTaskGroup { group in
            for try await event in events.cancelOnGracefulShutdown() {
                if let (pf, count) = SRIOVPolicy.reenable(on: event, configured: vfs) {
                    group.addTask { [actions, logger] in
                        do {
                            switch try await actions.enableVFs(pf, count) {
                            case .alreadyEnabled(let current): logger.info("GPU \(pf): driver bound, \(current) VFs already enabled")
                            case .enabled(let wanted): logger.info("GPU \(pf): driver bound again: enabled \(wanted) VFs (sriov_numvfs)")
                            }
                        } catch {
                            logger.error("GPU \(pf): driver bound, VFs not enabled: \(error)")
                        }
                    }
                }
                guard let meaning = ParentEvent.from(event) else { continue }
                metrics.udevEvents.increment()
                changed()
                guard case .appeared(let parent, let why) = meaning else {
                    logger.debug("udev: \(meaning)")
                    continue
                }
                // Most parents (every PCI device added) have no auto definition: cheap check, no lock.
                let hasAuto = await metrics.hostRead("the auto definitions", logger: logger, fallback: [], { try await actions.autoParents() })
                    .contains(parent)
                guard hasAuto || keeper != nil else { continue }
                if hasAuto { logger.info("parent \(parent) appeared (\(why)): starting its auto vGPUs") }
                group.addTask { [keeper] in
                    // Auto vGPUs first, so that the layout keeps them instead of creating others.
                    if hasAuto { await starter.parentAppeared(parent, why: why) }
                    await keeper?.gpuAppeared(parent, why: why)
                    changed()
                }
            }
            group.cancelAll()
        }
    }

    /// The source's events, read on a dedicated thread (libudev blocks); ending the stream stops the source.
    static func stream(_ source: UdevEventSource) -> AsyncThrowingStream<UdevEvent, Error> {
        AsyncThrowingStream { continuation in
            let thread = DispatchQueue(label: "vgpud.udev")
            thread.async {
                do {
                    while let event = try source.next() { continuation.yield(event) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in source.stop() }
        }
    }
}
