import Logging
import VGPUCore

/// Starts a parent's `auto` vGPUs when it appears, retrying on the `Backoff` schedule while any of them fails
/// (the parent is often not ready at its first uevent). One retry loop per parent at a time: an event for a
/// parent whose loop runs only asks that loop for one more round once it ends.
public actor AutoStarter {
    public typealias Sleep = @Sendable (_ seconds: Double) async throws -> Void

    private let actions: DaemonActions
    private let backoff: Backoff
    private let sleep: Sleep
    private let metrics: DaemonMetrics
    private let logger: Logger
    /// Parents with a loop running → whether another round was asked for meanwhile.
    private var running: [String: Bool] = [:]

    public init(actions: DaemonActions, backoff: Backoff = Backoff(), metrics: DaemonMetrics, logger: Logger,
                sleep: @escaping Sleep = { try await Task.sleep(nanoseconds: UInt64($0 * 1_000_000_000)) }) {
        self.actions = actions
        self.backoff = backoff
        self.sleep = sleep
        self.metrics = metrics
        self.logger = logger
    }

    /// Returns when the parent's auto vGPUs all run, its attempts ran out, or the task was cancelled.
    public func parentAppeared(_ parent: String, why: String) async {
        if running[parent] != nil {
            running[parent] = true
            return
        }
        repeat {
            running[parent] = false
            await startWithRetries(parent, why: why)
        } while running[parent] == true && !Task.isCancelled
        running[parent] = nil
    }

    private func startWithRetries(_ parent: String, why: String) async {
        var attempt = 1
        while true {
            metrics.autoStartAttempts.increment()
            var failures: [String]
            do {
                let result = try await actions.startAuto(parent)
                for started in result.started { logger.info("started \(started)", metadata: ["parent": "\(parent)", "trigger": "\(why)"]) }
                failures = result.failures
            } catch {
                failures = ["\(error)"]
            }
            if failures.isEmpty { return }
            metrics.autoStartFailures.increment(by: Int64(failures.count))
            guard let delay = backoff.delay(afterAttempt: attempt) else {
                logger.error("gave up starting auto vGPUs on \(parent) after \(attempt) attempts (the next reconcile tries again): \(failures.joined(separator: "; "))")
                return
            }
            logger.warning("attempt \(attempt) to start auto vGPUs on \(parent) failed, retrying in \(delay) s: \(failures.joined(separator: "; "))")
            do { try await sleep(delay) } catch { return }
            if Task.isCancelled { return }
            attempt += 1
        }
    }
}
