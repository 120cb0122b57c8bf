import Dispatch
import Logging
import VGPUApp
import VGPUCore

/// What one apply of the selected layout did, for the log and the counters.
public struct LayoutApplyReport: Equatable, Sendable {
    public var layout: String
    /// One line per GPU that changed ("GPU mtty: 1 created, 0 removed, 2 kept").
    public var changes: [String]
    /// GPUs the layout names that already matched.
    public var matching: Int

    public init(layout: String, changes: [String], matching: Int) {
        self.layout = layout
        self.changes = changes
        self.matching = matching
    }

    public init(_ outcome: ApplyLayout.Outcome) {
        let gpus = outcome.result.gpus
        self.init(layout: outcome.result.layout,
                  changes: outcome.vfsEnabled.map { "PF \($0.pf): enabled \($0.count) VFs" }
                      + gpus.filter(\.acts).map { "GPU \($0.gpu): \($0.created.count) created, \($0.removed.count) removed, \($0.kept.count) kept" },
                  matching: gpus.filter { !$0.acts }.count)
    }
}

/// Keeps the host in the config's selected layout (`layout = "NAME"`): applies it at start and whenever a GPU
/// appears (a driver loads and registers its parents, SR-IOV VFs are enabled), through the same use case as
/// `vgpuctl apply`. Appearances come in bursts (a driver registers several parents, a PF many VFs), so an
/// appearance waits `settle` seconds and everything that appears meanwhile, or while an apply runs, is covered
/// by one more apply. A refusal or failure is logged with its message and counted; the next appearance tries
/// again.
public actor LayoutKeeper {
    /// Applies the layout once (live: start the auto definitions that are not running, then apply).
    public typealias Apply = @Sendable () async throws -> LayoutApplyReport

    private let apply: Apply
    private let settle: Double
    private let sleep: AutoStarter.Sleep
    private let metrics: DaemonMetrics
    private let logger: Logger
    private let changed: @Sendable () -> Void
    private var running = false
    /// Why another round was asked for while one was settling or running.
    private var again: String?

    public init(apply: @escaping Apply, settle: Double = 1, metrics: DaemonMetrics, logger: Logger,
                sleep: @escaping AutoStarter.Sleep = { try await Task.sleep(nanoseconds: UInt64($0 * 1_000_000_000)) },
                changed: @escaping @Sendable () -> Void = {}) {
        self.apply = apply
        self.settle = settle
        self.sleep = sleep
        self.metrics = metrics
        self.logger = logger
        self.changed = changed
    }

    /// At vgpud's start (after the start-up reconcile has started the auto vGPUs): no settling.
    public func applyAtStart() async { await request("vgpud started", settle: false) }

    /// Returns when the apply that covers this appearance has run (or the task was cancelled).
    public func gpuAppeared(_ name: String, why: String) async { await request("\(name) appeared: \(why)", settle: true) }

    private func request(_ why: String, settle wait: Bool) async {
        if running {
            again = again ?? why
            return
        }
        running = true
        defer { running = false }
        var reason = why
        var wait = wait
        while !Task.isCancelled {
            if wait {
                do { try await sleep(settle) } catch { return }
            }
            // What appeared while settling is on the host now: this apply covers it.
            again = nil
            await applyOnce(reason)
            guard let next = again else { return }
            reason = next
            wait = true
        }
    }

    private func applyOnce(_ why: String) async {
        metrics.layoutApplies.increment()
        do {
            let report = try await apply()
            if report.changes.isEmpty {
                logger.info("layout \(report.layout): the host matches (\(report.matching) GPU(s)); trigger: \(why)")
            } else {
                metrics.layoutChanges.increment()
                for line in report.changes { logger.info("layout \(report.layout): \(line); trigger: \(why)") }
            }
        } catch {
            metrics.layoutApplyFailures.increment()
            logger.error("layout not applied (trigger: \(why)): \(error)")
        }
        changed()
    }
}

extension LayoutKeeper {
    /// The live apply: the auto definitions that are not running are started first, so a GPU that came back
    /// gets its defined vGPUs (kept, same UUIDs) rather than new ones (a start that fails is logged and counted in
    /// vgpud_autostart_failures_total, and the apply goes on); then the config's selected layout is applied, read
    /// from the config file each time, through the use case `vgpuctl apply` runs. Blocking host work runs on a
    /// queue of its own; the host lock serialises it with every other change.
    public static func live(_ application: Application, actions: DaemonActions, metrics: DaemonMetrics, logger: Logger) -> Apply {
        let queue = DispatchQueue(label: "vgpud.layout")
        var applying = application
        applying.command = "vgpud apply"
        return { [applying] in
            do {
                let started = try await actions.startAuto(nil)
                for failure in started.failures {
                    metrics.autoStartFailures.increment()
                    logger.error("before applying the layout: could not start \(failure)")
                }
            } catch {
                metrics.autoStartFailures.increment()
                logger.error("before applying the layout: could not start the auto vGPUs: \(error)")
            }
            return try await offload(queue) { LayoutApplyReport(try applying.perform(ApplyDeclaredLayout(.config(name: nil)))) }
        }
    }
}
