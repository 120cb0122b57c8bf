import Foundation
import Logging
import Testing
import VGPUCore
import VGPUDaemon
import VGPUUdev

/// Collects log lines (level and message) so a test can see that a refusal is not silent.
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var _lines: [String] = []
    var lines: [String] { lock.withLock { _lines } }
    func add(_ line: String) { lock.withLock { _lines.append(line) } }

    var logger: Logger {
        Logger(label: "test") { _ in Handler(sink: self) }
    }

    struct Handler: LogHandler {
        let sink: LogLines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { sink.add("\(event.level): \(event.message)") }
    }
}

/// A scripted apply: answers each call with the next report or error, and counts the calls.
final class ScriptedApply: @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [Result<LayoutApplyReport, VGPUError>]
    private var _calls = 0
    var calls: Int { lock.withLock { _calls } }

    init(_ answers: [Result<LayoutApplyReport, VGPUError>]) { self.answers = answers }

    var apply: LayoutKeeper.Apply {
        {
            let answer = self.lock.withLock { () -> Result<LayoutApplyReport, VGPUError> in
                self._calls += 1
                return self.answers.isEmpty ? .success(LayoutApplyReport(layout: "lab", changes: [], matching: 1)) : self.answers.removeFirst()
            }
            return try answer.get()
        }
    }
}

@Suite struct LayoutKeeperTests {
    @Test func anApplyAtStartIsLoggedAndCountedAndARefusalIsLoggedWithItsMessage() async {
        let log = LogLines()
        let metrics = DaemonMetrics()
        let script = ScriptedApply([
            .success(LayoutApplyReport(layout: "lab", changes: ["GPU mtty: 2 created, 0 removed, 0 kept"], matching: 3)),
            .failure(VGPUError(.busy, "layout 'lab' would remove vGPU 0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50 on mtty2: domain web01 uses it",
                               fix: "shut the domain down")),
        ])
        let sleeps = LockedList()
        let keeper = LayoutKeeper(apply: script.apply, settle: 1, metrics: metrics, logger: log.logger, sleep: { sleeps.add($0) })
        await keeper.applyAtStart()
        #expect(sleeps.values.isEmpty, "no settling at start")
        await keeper.gpuAppeared("mtty2", why: "mdev parent registered")
        #expect(sleeps.values == [1], "an appearance settles first")
        #expect(script.calls == 2)
        #expect(counter(metrics, "vgpud_layout_applies_total") == 2)
        #expect(counter(metrics, "vgpud_layout_changes_total") == 1)
        #expect(counter(metrics, "vgpud_layout_apply_failures_total") == 1)
        #expect(log.lines.contains { $0.hasPrefix("info: layout lab: GPU mtty: 2 created") && $0.contains("trigger: vgpud started") })
        #expect(log.lines.contains { $0.hasPrefix("error: layout not applied (trigger: mtty2 appeared: mdev parent registered)") && $0.contains("domain web01 uses it") },
                "\(log.lines)")
    }

    /// A driver registering three parents at once: one apply after the settling covers all three.
    @Test func appearancesWhileSettlingAreCoveredByOneApply() async {
        let script = ScriptedApply([])
        let gate = Gate()
        let keeper = LayoutKeeper(apply: script.apply, metrics: DaemonMetrics(), logger: quiet, sleep: { _ in await gate.wait() })
        async let first: Void = keeper.gpuAppeared("mtty", why: "registered")
        while await gate.waiting == 0 { await Task.yield() }
        await keeper.gpuAppeared("mtty1", why: "registered")  // returns at once: the running round covers it
        await keeper.gpuAppeared("mtty2", why: "registered")
        await gate.open()
        await first
        #expect(script.calls == 1)
    }

    @Test func aParentWithoutAutoDefinitionsStillHasTheLayoutApplied() async throws {
        let host = FakeHost(autoParents: [])
        let script = ScriptedApply([])
        let metrics = DaemonMetrics()
        let keeper = LayoutKeeper(apply: script.apply, metrics: metrics, logger: quiet, sleep: { _ in })
        let source = ScriptedUdevSource([event("change", "mdpy", "mdpy", ["MDEV_STATE": "registered"]), event("add", "block", "sda")])
        let watcher = UdevWatcher(source: source, starter: AutoStarter(actions: host.actions, metrics: metrics, logger: quiet, sleep: host.sleep),
                                  keeper: keeper, actions: host.actions, metrics: metrics, logger: quiet)
        try await watcher.run()
        #expect(host.startCalls.isEmpty, "no auto definitions to start")
        #expect(script.calls == 1, "the GPU that appeared, not the disk")
    }
}

final class LockedList: @unchecked Sendable {
    private let lock = NSLock()
    private var _values: [Double] = []
    var values: [Double] { lock.withLock { _values } }
    func add(_ value: Double) { lock.withLock { _values.append(value) } }
}

/// A sleep that returns only when the test opens the gate.
actor Gate {
    private var continuations: [CheckedContinuation<Void, Never>] = []
    private var isOpen = false
    var waiting: Int { continuations.count }
    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { continuations.append($0) }
    }
    func open() {
        isOpen = true
        for continuation in continuations { continuation.resume() }
        continuations = []
    }
}
