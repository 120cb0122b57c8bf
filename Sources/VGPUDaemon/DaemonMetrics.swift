#if canImport(Glibc)
import Glibc
#endif
import CoreMetrics
import Logging
import Prometheus
import VGPUCore

/// vgpud's metrics in one Prometheus registry: its own counters (through swift-metrics, so they would work with
/// any backend) and the host's state as gauges set from `MetricSample`s (through the registry, which gives them
/// their HELP text and lets a label set that disappeared, a parent unloaded, be dropped).
public final class DaemonMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory

    public let udevEvents: CoreMetrics.Counter
    public let autoStartAttempts: CoreMetrics.Counter
    public let autoStartFailures: CoreMetrics.Counter
    public let reconcileRuns: CoreMetrics.Counter
    public let reconcileActions: CoreMetrics.Counter
    public let reconcileFailures: CoreMetrics.Counter
    public let layoutApplies: CoreMetrics.Counter
    public let layoutChanges: CoreMetrics.Counter
    public let layoutApplyFailures: CoreMetrics.Counter
    /// Reads of the host that failed (definitions, VFs, the metric snapshot): each is also logged.
    public let hostReadFailures: CoreMetrics.Counter

    private let published = LockedValue<[String: Prometheus.Gauge]>([:])

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        factory = PrometheusMetricsFactory(registry: registry)
        udevEvents = CoreMetrics.Counter(label: "vgpud_udev_events_total", factory: factory)
        autoStartAttempts = CoreMetrics.Counter(label: "vgpud_autostart_attempts_total", factory: factory)
        autoStartFailures = CoreMetrics.Counter(label: "vgpud_autostart_failures_total", factory: factory)
        reconcileRuns = CoreMetrics.Counter(label: "vgpud_reconcile_runs_total", factory: factory)
        reconcileActions = CoreMetrics.Counter(label: "vgpud_reconcile_actions_total", factory: factory)
        reconcileFailures = CoreMetrics.Counter(label: "vgpud_reconcile_failures_total", factory: factory)
        layoutApplies = CoreMetrics.Counter(label: "vgpud_layout_applies_total", factory: factory)
        layoutChanges = CoreMetrics.Counter(label: "vgpud_layout_changes_total", factory: factory)
        layoutApplyFailures = CoreMetrics.Counter(label: "vgpud_layout_apply_failures_total", factory: factory)
        hostReadFailures = CoreMetrics.Counter(label: "vgpud_host_read_failures_total", factory: factory)
        // Present from the start, so a scrape before the first event shows 0 rather than nothing.
        for counter in [udevEvents, autoStartAttempts, autoStartFailures, reconcileRuns, reconcileActions, reconcileFailures,
                        layoutApplies, layoutChanges, layoutApplyFailures, hostReadFailures] {
            counter.increment(by: 0)
        }
    }

    /// Sets the host gauges to `samples`; label sets not among them any more are removed.
    public func apply(_ samples: [MetricSample]) {
        let help = InventoryMetrics.help.merging(HookStats.help) { first, _ in first }
        published.withValue { published in
            var next: [String: Prometheus.Gauge] = [:]
            for sample in samples {
                let key = sample.description.split(separator: " ").dropLast().joined(separator: " ")
                let gauge = published[key] ?? registry.makeGauge(
                    descriptor: MetricNameDescriptor(metricName: sample.name, unitName: "", helpText: help[sample.name] ?? sample.name),
                    labels: sample.sortedLabels)
                gauge.set(sample.value)
                next[key] = gauge
            }
            for (key, gauge) in published where next[key] == nil { registry.unregisterGauge(gauge) }
            published = next
        }
    }

    /// `read`'s value, or when it fails `fallback`, the failure logged as an error and counted.
    public func hostRead<T>(_ what: String, logger: Logger, fallback: T, _ read: () async throws -> T) async -> T {
        do { return try await read() } catch {
            hostReadFailures.increment()
            logger.error("could not read \(what): \(error)")
            return fallback
        }
    }

    /// The Prometheus text exposition format (version 0.0.4).
    public func render() -> String { registry.emitToString() }
}

/// A value behind a pthread mutex (the daemon's few shared variables).
final class LockedValue<Value>: @unchecked Sendable {
    private var value: Value
    private var mutex = pthread_mutex_t()

    init(_ value: Value) {
        self.value = value
        pthread_mutex_init(&mutex, nil)
    }

    deinit { pthread_mutex_destroy(&mutex) }

    func withValue<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body(&value)
    }
}
