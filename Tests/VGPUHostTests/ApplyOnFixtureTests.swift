import Foundation
import Testing
import VGPUApp
import VGPUCore
import VGPUFixtures
import VGPUHost

/// `apply` end to end on fixture trees: the use case (lock, plan, parallel lanes, journal) against a simulated
/// kernel; a second apply does nothing; a crash anywhere is all-or-nothing after recovery.
@Suite struct ApplyOnFixtureTests {

    func largeHost(layout: FixtureLayout = .mdev, gpus: Int = 4, vfs: Int = 4, types: Int = 3) throws -> TestHost {
        try TestHost { try FixtureHosts.large(at: $0, gpus: gpus, vfsPerGPU: vfs, types: types, layout: layout) }
    }

    func full(_ type: String = "nvidia-500", count: Int = 4) -> DeclaredLayout {
        DeclaredLayout(name: "full", entries: [.init(gpus: .all, vgpus: [.init(type: type, count: count)], origin: "test")])
    }

    func apply(_ layout: DeclaredLayout, on host: TestHost, os: SystemCalls? = nil, dryRun: Bool = false,
               progress: (@Sendable (String) -> Void)? = nil) throws -> ApplyLayout.Outcome {
        let environment = Environment(paths: host.paths, os: os ?? SimulatedKernel(tree: host.tree), libvirtURI: "test:///nonexistent-apply")
        let application = Application(environment: environment, lockWait: 0, command: "vgpuctl apply full")
        return try dryRun ? application.read(PreviewLayout(layout, config: PlacementConfig()))
                          : application.run(ApplyLayout(layout, config: PlacementConfig(), progress: progress))
    }

    @Test(arguments: [FixtureLayout.mdev, .vfio])
    func applyThenApplyAgainIsANoOp(layout: FixtureLayout) throws {
        let host = try largeHost(layout: layout)
        let dry = try apply(full(), on: host, dryRun: true)
        #expect(dry.acts && dry.result.gpus.count == 4)
        #expect(try host.inventory().vgpus.isEmpty, "a dry run changes nothing")

        let lines = Lines()
        let first = try apply(full(), on: host, progress: { lines.append($0) })
        #expect(first.acts)
        let inventory = try host.inventory()
        #expect(inventory.vgpus.count == 16)
        #expect(inventory.definitions.count == 16 && inventory.definitions.allSatisfy { $0.start == .auto })
        #expect(Set(inventory.vgpus.map(\.type)) == ["nvidia-500"])
        #expect(lines.all.count == 4, "one progress line per GPU")
        #expect(lines.all.allSatisfy { $0.contains("4 created") })
        #expect(try host.journal(LiveSystemCalls()).pending().isEmpty)

        let before = host.snapshot()
        let second = try apply(full(), on: host)
        #expect(!second.acts)
        #expect(try !apply(full(), on: host, dryRun: true).acts)
        #expect(changes(before, host.snapshot()).filter { !$0.hasPrefix("run/") } == [], "only the lock's holder note changes")
    }

    @Test func aChangedLayoutKeepsWhatMatches() throws {
        let host = try largeHost()
        _ = try apply(full(), on: host)
        let kept = try host.inventory().vgpus.filter { $0.parent.hasPrefix("0000:17:") }.map(\.uuid)
        let changed = DeclaredLayout(name: "changed", entries: [
            .init(gpus: .gpus(["0000:17:00.0"]), vgpus: [.init(type: "nvidia-500", count: 4)], origin: "a"),
            .init(gpus: .gpus(["0000:27:00.0"]), vgpus: [.init(type: "nvidia-501", count: 2)], origin: "b"),
        ])
        let outcome = try apply(changed, on: host)
        #expect(outcome.result.gpus.map { $0.acts } == [false, true])
        let after = try host.inventory()
        #expect(after.vgpus.filter { $0.parent.hasPrefix("0000:17:") }.map(\.uuid) == kept, "same UUIDs")
        #expect(after.vgpus.filter { $0.parent.hasPrefix("0000:27:") }.map(\.type) == ["nvidia-501", "nvidia-501"])
        #expect(after.vgpus.count == 4 + 2 + 8, "GPUs the layout does not name are left alone")
        #expect(after.definitions.count == after.vgpus.count)
    }

    /// apply reads only what its layout names: its types, and its GPUs where it names them one by one. A refusal
    /// still says what the whole host has (every GPU, every type it offers): the same error the planner gives on a
    /// whole read.
    @Test func aLayoutReadsOnlyWhatItNamesAndRefusesAsTheWholeHostWould() throws {
        let host = try largeHost(types: 3)
        let traced = FaultInjectingOS(SimulatedKernel(tree: host.tree))
        #expect(try apply(full("nvidia-501"), on: host, os: traced, dryRun: true).acts)
        let reads = traced.calls.filter { $0.operation == .read }.map(\.path)
        #expect(reads.contains { $0.contains("/nvidia-501/") })
        #expect(!reads.contains { $0.contains("/nvidia-500/") || $0.contains("/nvidia-502/") }, "only the named type's files")

        func one(_ gpu: String, _ type: String, _ count: Int = 1) -> DeclaredLayout {
            DeclaredLayout(name: "one", entries: [.init(gpus: .gpus([gpu]), vgpus: [.init(type: type, count: count)], origin: "t")])
        }
        let named = FaultInjectingOS(SimulatedKernel(tree: host.tree))
        let planned = try apply(one("0000:27:00.0", "A100-2-40C", 2), on: host, os: named, dryRun: true)
        #expect(planned.result.gpus.map(\.gpu) == ["0000:27:00.0"] && planned.result.gpus[0].created.map(\.type) == ["nvidia-501", "nvidia-501"])
        let elsewhere = named.calls.filter { call in ["0000:17:", "0000:37:", "0000:47:"].contains { call.path.contains($0) } }
        #expect(elsewhere.isEmpty, "no other GPU is read: \(elsewhere.prefix(3))")

        for layout in [full("nosuch"), full(count: 5), one("0000:27:00.0", "nvidia-500", 9), one("0000:99:00.0", "nvidia-500"),
                       one("0000:27:00.0", "A100-9-9C")] {
            let whole = #expect(throws: VGPUError.self) {
                try ApplyPlanner.plan(layout, inventory: host.inventory(), config: PlacementConfig(), newUUID: LibUUID.random)
            }
            let applied = #expect(throws: VGPUError.self) { try apply(layout, on: host) }
            #expect(applied?.message == whole?.message && applied?.fix == whole?.fix && applied?.kind == whole?.kind)
        }
    }

    @Test func aCapacityRefusalChangesNothing() throws {
        let host = try largeHost()
        let before = host.snapshot()
        let error = #expect(throws: VGPUError.self) { try apply(full(count: 5), on: host) }
        #expect(error?.kind == .noCapacity)
        #expect(changes(before, host.snapshot()).filter { !$0.hasPrefix("run/") } == [])
    }

    @Test func aFailingLaneRollsEveryLaneBack() throws {
        let host = try largeHost()
        let before = host.snapshot()
        // The 20th mutating call fails; whatever lanes had done is undone.
        #expect(throws: VGPUError.self) { try apply(full(), on: host, os: FaultInjectingOS(SimulatedKernel(tree: host.tree), failAt: 20)) }
        #expect(changes(before, host.snapshot()).filter { !$0.hasPrefix("run/") } == [])
    }

    /// Definitions are not synced one by one: one sync of their file system, after the last step and before the
    /// journal record goes, makes them all durable (until then the record would undo them after a power loss).
    @Test func definitionsAreSyncedOnceBeforeTheRecordEnds() throws {
        let host = try largeHost()
        let traced = FaultInjectingOS(SimulatedKernel(tree: host.tree))
        _ = try apply(full(), on: host, os: traced)
        let calls = traced.calls
        let definitions = host.paths.mdevctlDefinitions
        #expect(try host.inventory().definitions.count == 16)
        #expect(calls.filter { $0.operation == .fsync && $0.path.hasPrefix(definitions + "/") }.isEmpty)
        let sync = try #require(calls.lastIndex(of: .init(operation: .fsync, path: definitions)))
        let recordEnds = try #require(calls.lastIndex { $0.operation == .unlink && $0.path.contains("/journal/") })
        let lastDefinition = try #require(calls.lastIndex { $0.operation == .rename && $0.path.hasPrefix(definitions + "/") })
        #expect(lastDefinition < sync && sync < recordEnds)
    }

    /// A process dying at any call (`.dead`: that call and every later one fail, on every lane) leaves, after
    /// recovery, either the host as it was or the layout complete.
    @Test func killedAtEveryCallIsAllOrNothingAfterRecovery() throws {
        let layout = DeclaredLayout(name: "small", entries: [.init(gpus: .indices([0, 1]), vgpus: [.init(type: "nvidia-501", count: 2)], origin: "t")])
        let probe = try largeHost(gpus: 2, vfs: 2, types: 2)
        let counter = FaultInjectingOS(SimulatedKernel(tree: probe.tree))
        _ = try apply(layout, on: probe, os: counter)
        for crashAt in 1...counter.countedCalls {
            let host = try largeHost(gpus: 2, vfs: 2, types: 2)
            let before = host.snapshot()
            _ = try? apply(layout, on: host, os: FaultInjectingOS(SimulatedKernel(tree: host.tree), failAt: crashAt, mode: .dead))
            let healthy = SimulatedKernel(tree: host.tree)
            _ = try Recovery(journal: host.journal(healthy), runner: host.runner(healthy)).run()
            let after = host.snapshot()
            // The lock file and VF records under run/ are not the layout's state; UUIDs differ between runs.
            let inventory = try host.inventory()
            let vgpus = inventory.vgpus
            let none = changes(before, after).filter { !$0.hasPrefix("run/") }.isEmpty
            let all = vgpus.count == 4 && Set(vgpus.map(\.type)) == ["nvidia-501"] && inventory.definitions.count == 4
            #expect(none || all, "crash at call \(crashAt) of \(counter.countedCalls): \(vgpus.count) vGPUs")
        }
    }

    /// PFs a layout names by address that have no VFs get them before the GPU wait: the config's `sriov_numvfs`,
    /// else all the PF supports. A dry run only says so; a count the PF cannot give is refused with nothing written.
    /// On a fixture tree no VF appears after the write, so the wait then ends naming the PFs.
    @Test func aNamedPFWithoutVFsGetsThemEnabledBeforeTheWait() throws {
        let host = try TestHost { try FixtureHosts.pciLab(at: $0) }
        let file = host.directory + "/vgpuctl.conf"
        let numVFs = { (pf: String) in try String(contentsOfFile: host.paths.pciDevices + "/\(pf)/sriov_numvfs", encoding: .utf8) }
        func perform(dryRun: Bool, numVFsOf82: Int) throws -> ApplyLayout.Outcome {
            try """
                [gpus."0000:82:00.0"]
                sriov_numvfs = \(numVFsOf82)
                [[layouts.vf.entries]]
                gpus = ["0000:45:00.0", "0000:82:00.0"]
                vgpus = { "nvidia-1428" = 2 }
                """.write(toFile: file, atomically: true, encoding: .utf8)
            let environment = Environment(paths: host.paths, os: SimulatedKernel(tree: host.tree), configFile: file, libvirtURI: "test:///nonexistent-apply")
            return try Application(environment: environment, lockWait: 0, command: "vgpuctl apply vf")
                .perform(ApplyDeclaredLayout(.config(name: "vf"), dryRun: dryRun, gpuWait: 0.2))
        }

        let refused = #expect(throws: VGPUError.self) { try perform(dryRun: false, numVFsOf82: 9) }
        #expect(refused?.kind == .invalidInput && refused?.message.contains("0000:82:00.0: sriov_numvfs = 9") == true, "\(refused?.message ?? "")")
        #expect(try numVFs("0000:45:00.0").hasPrefix("0") && numVFs("0000:82:00.0").hasPrefix("0"), "a refusal writes nothing")

        let dry = try perform(dryRun: true, numVFsOf82: 4)
        #expect(dry.acts && dry.result.gpus.isEmpty)
        #expect(dry.vfsEnabled == [VFEnabling(pf: "0000:45:00.0", count: 7), VFEnabling(pf: "0000:82:00.0", count: 4)])
        #expect(try numVFs("0000:45:00.0").hasPrefix("0"), "a dry run enables nothing")

        let missing = #expect(throws: VGPUError.self) { try perform(dryRun: false, numVFsOf82: 4) }
        #expect(missing?.kind == .notFound && missing?.message.contains("0000:45:00.0, 0000:82:00.0") == true, "\(missing?.message ?? "")")
        #expect(try numVFs("0000:45:00.0") == "7\n" && numVFs("0000:82:00.0") == "4\n")
    }
}

final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}
