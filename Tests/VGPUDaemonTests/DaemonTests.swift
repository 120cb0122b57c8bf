import Foundation
import Logging
import Testing
@testable import VGPUApp
import VGPUCore
import VGPUDaemon
import VGPUFixtures
import VGPUHost
import VGPUUdev

/// Records what vgpud asked of the host; `startAuto` answers from a script (failures per call, in order).
final class FakeHost: @unchecked Sendable {
    private let lock = NSLock()
    private var _startCalls: [String?] = []
    private var _prunes: [Bool] = []
    private var _sleeps: [Double] = []
    private var failuresPerCall: [[String]]
    private var readinessAnswers: [Bool]
    let autoParents: Set<String>

    init(autoParents: Set<String> = ["mtty", "0000:17:00.4"], failuresPerCall: [[String]] = [], readinessAnswers: [Bool] = []) {
        self.autoParents = autoParents
        self.failuresPerCall = failuresPerCall
        self.readinessAnswers = readinessAnswers
    }

    var startCalls: [String?] { lock.withLock { _startCalls } }
    var prunes: [Bool] { lock.withLock { _prunes } }
    var sleeps: [Double] { lock.withLock { _sleeps } }

    var actions: DaemonActions {
        DaemonActions(
            startAuto: { parent in
                let failures: [String] = self.lock.withLock {
                    self._startCalls.append(parent)
                    return self.failuresPerCall.isEmpty ? [] : self.failuresPerCall.removeFirst()
                }
                return AutoStartResult(started: failures.isEmpty ? ["one on \(parent ?? "all")"] : [], failures: failures)
            },
            autoParents: { self.autoParents },
            reconcile: { prune in
                self.lock.withLock { self._prunes.append(prune) }
                return ReconcileCounts(actions: 2, failures: 1)
            },
            enableVFs: { _, count in .enabled(count) },
            vfReadiness: { pf, count in
                let ready = self.lock.withLock { self.readinessAnswers.isEmpty ? true : self.readinessAnswers.removeFirst() }
                let vfs = (0..<count).map { "\(pf)-vf\($0)" }
                return VFReadiness(wanted: count, vfs: ready ? vfs : [], parents: ready ? vfs : [])
            },
            snapshot: { [] })
    }

    /// A sleep that returns at once and remembers how long it was asked to wait: no timed tests.
    var sleep: AutoStarter.Sleep { { seconds in self.lock.withLock { self._sleeps.append(seconds) } } }
}

func counter(_ metrics: DaemonMetrics, _ name: String) -> Int? {
    metrics.render().split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Int($0.split(separator: " ")[1]) }
}

let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

func event(_ action: String, _ subsystem: String, _ name: String, _ properties: [String: String] = [:]) -> UdevEvent {
    UdevEvent(action: action, subsystem: subsystem, sysname: name, devpath: "/devices/\(name)", properties: properties)
}

@Suite struct UdevWatcherTests {
    @Test func parentsThatAppearAndHaveAutoDefinitionsAreStartedOthersAreNot() async throws {
        let host = FakeHost()
        let metrics = DaemonMetrics()
        let source = ScriptedUdevSource([
            event("add", "block", "sda"),
            event("add", "mtty", "mtty"),                                          // the class device, not yet a parent
            event("change", "mtty", "mtty", ["MDEV_STATE": "registered"]),          // -> start mtty's
            event("add", "mdev", "8f3b0d1e-0000-4000-8000-000000000001"),
            event("add", "pci", "0000:17:00.4"),                                    // a VF with auto definitions
            event("add", "pci", "0000:00:1f.0"),                                    // no auto definition: left alone
            event("change", "mdpy", "mdpy", ["MDEV_STATE": "registered"]),          // none either
        ])
        let refreshes = Counter()
        let watcher = UdevWatcher(source: source, starter: AutoStarter(actions: host.actions, metrics: metrics, logger: quiet, sleep: host.sleep),
                                  actions: host.actions, metrics: metrics, logger: quiet, changed: { refreshes.add() })
        try await watcher.run()  // the scripted source ends, so does the watcher (after its start tasks)
        #expect(Set(host.startCalls.compactMap { $0 }) == ["mtty", "0000:17:00.4"])
        #expect(host.startCalls.count == 2, "one start per parent, none for the whole host")
        #expect(counter(metrics, "vgpud_udev_events_total") == 5, "the events that concern vGPUs (not sda, not the class add)")
        #expect(counter(metrics, "vgpud_autostart_attempts_total") == 2)
        #expect(refreshes.value == 5 + 2, "fresh metrics after each such event and after each parent's start")
    }

    @Test func aLiveSourceIsStoppedWhenTheWatcherIsCancelled() async throws {
        let host = FakeHost()
        let source = ScriptedUdevSource([], holdOpen: true)
        let metrics = DaemonMetrics()
        let watcher = UdevWatcher(source: source, starter: AutoStarter(actions: host.actions, metrics: metrics, logger: quiet, sleep: host.sleep),
                                  actions: host.actions, metrics: metrics, logger: quiet)
        let task = Task { try await watcher.run() }
        source.send(event("change", "mtty", "mtty", ["MDEV_STATE": "registered"]))
        while host.startCalls.isEmpty { await Task.yield() }
        task.cancel()
        _ = await task.result  // returns: the stream's end stopped the source and its thread
        #expect(host.startCalls == ["mtty"])
        #expect(try source.next() == nil, "stopped")
    }
}

@Suite struct AutoStarterTests {
    @Test func failuresAreRetriedOnTheBackoffScheduleUntilTheParentIsReady() async {
        let host = FakeHost(failuresPerCall: [["a: type mtty-2 not offered yet"], ["a: type mtty-2 not offered yet"], []])
        let metrics = DaemonMetrics()
        let starter = AutoStarter(actions: host.actions, metrics: metrics, logger: quiet, sleep: host.sleep)
        await starter.parentAppeared("mtty", why: "test")
        #expect(host.startCalls == ["mtty", "mtty", "mtty"])
        #expect(host.sleeps == [0.5, 1], "exponential pauses, none after the success")
        #expect(counter(metrics, "vgpud_autostart_attempts_total") == 3)
        #expect(counter(metrics, "vgpud_autostart_failures_total") == 2)
    }

    @Test func aParentThatNeverBecomesReadyCostsABoundedNumberOfAttempts() async {
        let host = FakeHost(failuresPerCall: Array(repeating: ["x: no room"], count: 10))
        let starter = AutoStarter(actions: host.actions, backoff: Backoff(initial: 1, multiplier: 2, maximum: 3, attempts: 4),
                                  metrics: DaemonMetrics(), logger: quiet, sleep: host.sleep)
        await starter.parentAppeared("mtty", why: "test")
        #expect(host.startCalls.count == 4)
        #expect(host.sleeps == [1, 2, 3])
    }
}

@Suite struct ReconcileLoopTests {
    @Test func startUpEnablesVFsWaitsForThemThenStartsWhatIsMissing() async {
        let host = FakeHost(readinessAnswers: [false, false, true])
        let metrics = DaemonMetrics()
        let loop = ReconcileLoop(settings: .init(prune: false, vfs: [("0000:17:00.0", 4)], vfWait: 10, vfPoll: 0.5),
                                 actions: host.actions, metrics: metrics, logger: quiet, sleep: host.sleep)
        await loop.startUp()
        #expect(host.sleeps == [0.5, 0.5], "polled until the VFs were parents")
        #expect(host.prunes == [false], "one reconcile after the VFs, never pruning unless told")
        #expect(counter(metrics, "vgpud_reconcile_runs_total") == 1)
        #expect(counter(metrics, "vgpud_reconcile_actions_total") == 2)
        #expect(counter(metrics, "vgpud_reconcile_failures_total") == 1)
    }

    @Test func theWaitForVFsIsBounded() async {
        let host = FakeHost(readinessAnswers: Array(repeating: false, count: 100))
        let loop = ReconcileLoop(settings: .init(prune: true, vfs: [("0000:17:00.0", 4)], vfWait: 2, vfPoll: 0.5),
                                 actions: host.actions, metrics: DaemonMetrics(), logger: quiet, sleep: host.sleep)
        await loop.startUp()
        #expect(host.sleeps.count == 4, "2 s in 0.5 s steps, then on without them")
        #expect(host.prunes == [true])
    }
}

@Suite struct MetricsRenderingTests {
    @Test func theEndpointTextForAFixtureHostAndWhatARemovedParentLeaves() throws {
        let root = NSTemporaryDirectory() + "vgpud-test-" + UUID().uuidString
        _ = try FixtureHosts.samples(at: root + "/sys")
        let host = Environment(paths: HostPaths(root: root), os: LiveSystemCalls())
        try FileManager.default.createDirectory(atPath: root + "/run/vgpuctl", withIntermediateDirectories: true)
        try "invocations 4\nlatency_ms_sum 10.5\n".write(toFile: root + "/run/vgpuctl/hook-stats", atomically: true, encoding: .utf8)
        var inventory = try host.inventory()
        let metrics = DaemonMetrics()
        var samples = InventoryMetrics.samples(inventory, domainsKnown: false)
        samples += HookStats.parse(try host.os.read(root + "/run/vgpuctl/hook-stats"))!.samples
        metrics.apply(samples)
        let text = metrics.render()
        for line in [
            "# HELP vgpu_free_instances vGPUs of a type a parent can still create (available_instances)",
            "# TYPE vgpu_free_instances gauge",
            "vgpu_free_instances{gpu=\"mtty\",parent=\"mtty\",type=\"mtty-2\"} 12.0",
            "vgpu_free_instances{gpu=\"mdpy\",parent=\"mdpy\",type=\"mdpy-vga\"} 4.0",
            "vgpu_parent_types{gpu=\"mbochs\",parent=\"mbochs\"} 3.0",
            "vgpu_gpu_vgpus{gpu=\"mtty\"} 0.0",
            "vgpu_libvirt_reachable 0.0",
            "vgpu_hook_invocations 4.0",
            "vgpu_hook_latency_ms_sum 10.5",
            "# TYPE vgpud_reconcile_actions_total counter",
            "vgpud_udev_events_total 0",
        ] {
            #expect(text.split(separator: "\n").contains(Substring(line)), "missing: \(line)")
        }
        // mtty unloaded: its samples go, the others stay.
        inventory.parents.removeAll { $0.name == "mtty" }
        metrics.apply(InventoryMetrics.samples(inventory, domainsKnown: false))
        #expect(!metrics.render().contains("parent=\"mtty\""))
        #expect(metrics.render().contains("vgpu_free_instances{gpu=\"mdpy\",parent=\"mdpy\",type=\"mdpy-vga\"} 4.0"))
        #expect(!metrics.render().contains("vgpu_hook_invocations"), "no hook-stats sample: no hook gauge")
    }
}

@Suite struct SRIOVOnFixtureTests {
    /// A fixture H200 host whose PF has `sriov_numvfs` (the VFs are in the tree already, as after enabling).
    func host(current: Int) throws -> Environment {
        let root = NSTemporaryDirectory() + "vgpud-test-" + UUID().uuidString
        _ = try FixtureHosts.nvidiaVFIO(at: root + "/sys", pfs: [("0000:17:00.0", 0)], vfsPerPF: 4)
        let pf = root + "/sys/bus/pci/devices/0000:17:00.0/"
        try "\(current)\n".write(toFile: pf + "sriov_numvfs", atomically: false, encoding: .utf8)
        try "16\n".write(toFile: pf + "sriov_totalvfs", atomically: false, encoding: .utf8)
        return Environment(paths: HostPaths(root: root), os: LiveSystemCalls())
    }

    @Test func enablingWritesTheCountOnceUnderTheHostLock() throws {
        let host = try host(current: 0)
        let session = try Session(environment: host, wait: 0, command: "test")
        #expect(try session.run(EnableVFs(pf: "0000:17:00.0", count: 4)) == .enabled(4))
        #expect(try host.os.read(host.paths.pciDevices + "/0000:17:00.0/sriov_numvfs") == "4\n")
        #expect(try session.run(EnableVFs(pf: "0000:17:00.0", count: 4)) == .alreadyEnabled(4))
        let readiness = try ReadVFReadiness(pf: "0000:17:00.0", wanted: 4).read(in: host)
        #expect(readiness.vfs == ["0000:17:00.4", "0000:17:00.5", "0000:17:00.6", "0000:17:00.7"])
        #expect(readiness.isReady, "each VF carries nvidia/ and so is a parent")
        #expect(try !ReadVFReadiness(pf: "0000:17:00.0", wanted: 8).read(in: host).isReady)
    }

    @Test func aDifferentCountOrAnAbsentPFIsRefused() throws {
        let host = try host(current: 2)
        let session = try Session(environment: host, wait: 0, command: "test")
        let busy = #expect(throws: VGPUError.self) { try session.run(EnableVFs(pf: "0000:17:00.0", count: 4)) }
        #expect(busy?.kind == .busy)
        #expect(try host.os.read(host.paths.pciDevices + "/0000:17:00.0/sriov_numvfs") == "2\n", "left as it was")
        let absent = #expect(throws: VGPUError.self) { try session.run(EnableVFs(pf: "0000:99:00.0", count: 4)) }
        #expect(absent?.kind == .notFound)
        let tooMany = #expect(throws: VGPUError.self) { try session.run(EnableVFs(pf: "0000:17:00.0", count: 32)) }
        #expect(tooMany?.kind == .invalidInput)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

/// The live actions on a fixture host whose kernel is simulated: each start goes through a Session (host lock,
/// recovery, inventory, journaled executor) and the lock is free again afterwards.
@Suite struct LiveActionsOnFixtureTests {
    @Test func startAutoStartsTheParentsAutoDefinitionsOnceAndReleasesTheLock() async throws {
        let root = NSTemporaryDirectory() + "vgpud-test-" + UUID().uuidString
        let tree = try FixtureHosts.samples(at: root + "/sys")
        let host = Environment(paths: HostPaths(root: root), os: SimulatedKernel(tree: tree), libvirtURI: "test:///nonexistent-vgpud")
        do {
            let session = try Session(environment: host, wait: 0, command: "test")
            try session.run(DefineVGPU(type: "mtty-2", parent: "mtty", uuid: Inventories.uuid(1), start: .auto))
            try session.run(DefineVGPU(type: "mtty-2", parent: "mtty", uuid: Inventories.uuid(2), start: .auto))
            try session.run(DefineVGPU(type: "mdpy-vga", parent: "mdpy", uuid: Inventories.uuid(3), start: .auto))
            try session.run(DefineVGPU(type: "mdpy-vga", parent: "mdpy", uuid: Inventories.uuid(4), start: .manual))
        }
        let actions = DaemonActions.live(Application(environment: host, lockWait: 0, command: "test"))
        #expect(try await actions.autoParents() == ["mtty", "mdpy"])
        let first = try await actions.startAuto("mtty")
        #expect(first.started.count == 2 && first.failures.isEmpty, "\(first)")
        #expect(try await actions.startAuto("mtty") == AutoStartResult(), "running already: nothing to do")
        #expect(try host.inventory().vgpus.map(\.parent) == ["mtty", "mtty"], "mdpy's waits for its own parent")
        #expect(try await actions.reconcile(false) == ReconcileCounts(actions: 1, failures: 0), "the stub starts the rest (mdpy's auto one)")
        _ = try HostLock.acquire(paths: host.paths, os: host.os, wait: 0, holder: "test")  // free between operations
        let samples = try await actions.snapshot()
        #expect(samples.contains(MetricSample("vgpu_vgpus", ["gpu": "mtty", "parent": "mtty", "type": "mtty-2"], 2)))
        #expect(samples.contains(MetricSample("vgpu_free_instances", ["gpu": "mtty", "parent": "mtty", "type": "mtty-2"], 10)))
        #expect(samples.contains(MetricSample("vgpu_libvirt_reachable", [:], 0)), "no libvirt: no domains, no failure")
    }
}

enum Inventories {
    static func uuid(_ index: Int) -> DeviceUUID {
        try! DeviceUUID(parsing: String(format: "00000000-0000-4000-8000-%012x", index))
    }
}

@Suite struct LibUdevMonitorTests {
    /// Whether udev's netlink monitor can be opened here (an unprivileged sandbox may refuse it).
    static let netlinkAvailable: Bool = {
        guard let monitor = try? LibUdevMonitor() else { return false }
        monitor.stop()
        return true
    }()

    /// The real adapter opens udev's netlink monitor; stop() wakes a reader at once (no event needed, no timing).
    /// Shown as skipped where netlink is missing, never as passed.
    @Test(.enabled(if: netlinkAvailable, "udev's netlink monitor cannot be opened here"))
    func stopEndsABlockedRead() async throws {
        let monitor = try LibUdevMonitor()
        let reader = Task.detached { try monitor.next() }
        monitor.stop()
        #expect(try await reader.value == nil)
        #expect(try monitor.next() == nil, "stays stopped")
    }
}

extension Session {
    /// A change use case in this session (what `Application.run` does after opening one).
    func run<U: ChangeUseCase>(_ useCase: U) throws -> U.Output { try useCase.run(in: self) }
}

/// A host read that fails is logged and counted, never dropped: the metric snapshot, the auto-definition check
/// and the VF readiness each go to `vgpud_host_read_failures_total`.
@Suite struct HostReadFailureTests {
    struct Unreadable: Error, CustomStringConvertible { var description: String { "sysfs is gone" } }

    var failingActions: DaemonActions {
        DaemonActions(startAuto: { _ in AutoStartResult() }, autoParents: { throw Unreadable() },
                      reconcile: { _ in ReconcileCounts(actions: 0, failures: 0) }, enableVFs: { _, count in .enabled(count) },
                      vfReadiness: { _, _ in throw Unreadable() }, snapshot: { throw Unreadable() })
    }

    @Test func aFailedSnapshotIsCountedAndLogged() async {
        let metrics = DaemonMetrics()
        let lines = LogLines()
        #expect(counter(metrics, "vgpud_host_read_failures_total") == 0, "present from the start")
        await MetricsRefresher(actions: failingActions, metrics: metrics, logger: lines.logger).refresh()
        #expect(counter(metrics, "vgpud_host_read_failures_total") == 1)
        #expect(lines.lines.contains { $0.contains("could not read the host for the metrics: sysfs is gone") }, "\(lines.lines)")
    }

    @Test func aFailedReadGivesTheFallbackAndCounts() async {
        let metrics = DaemonMetrics()
        let lines = LogLines()
        let parents = await metrics.hostRead("the auto definitions", logger: lines.logger, fallback: ["none"]) { try await failingActions.autoParents() }
        #expect(parents == ["none"])
        #expect(counter(metrics, "vgpud_host_read_failures_total") == 1)
        #expect(lines.lines == ["error: could not read the auto definitions: sysfs is gone"])
    }
}
