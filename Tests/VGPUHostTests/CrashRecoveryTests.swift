import Foundation
import Testing
import VGPUCore
import VGPUFixtures
import VGPUHost

/// The journal and `Recovery`: a process that dies at any call of a multi-step operation (simulated by
/// `FaultInjectingOS` in `.dead` mode: that call and every later one fail, rollback included) leaves a record
/// from which recovery restores all-or-nothing. Every other definition stays byte-identical.
@Suite struct CrashRecoveryTests {
    let ids = [uuid("0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50"), uuid("1c2f6d5f-3e5b-4c9f-8c4f-6b2d3e4f5061")]
    let unrelated = Definition(uuid: uuid("99999999-0000-4000-8000-000000000001"), parent: "mdpy", type: "mdpy-vga", start: .manual)

    /// A host with one running domain and an unrelated definition.
    func makeHost() throws -> (TestHost, FileHypervisor) {
        let host = try TestHost()
        try DefinitionStore(paths: host.paths, os: LiveSystemCalls()).write(unrelated)
        return (host, try FileHypervisor(directory: host.root + "/libvirt", os: LiveSystemCalls(), domains: ["web01": true]))
    }

    func createPlan(_ host: TestHost) throws -> Plan {
        let (placements, _) = try LifecyclePlanner.create(PlacementRequest(type: "mtty-2", count: 2), uuids: ids, inventory: host.inventory())
        let plan = try DomainPlanner.createAndAttach(placements, uuids: ids, domain: "web01", scope: .both) {
            try TemplateStore.load().hostdev(for: $0)
        }
        return DefinitionPlanner.persisting(plan, start: .auto)
    }

    func destroyPlan(_ host: TestHost, _ libvirt: FileHypervisor) throws -> Plan {
        try DomainPlanner.destroy(domain: "web01", isActive: true, inventory: libvirt.annotate(host.inventory())) {
            try TemplateStore.load().hostdev(for: $0)
        }.plan
    }

    /// Runs `plan` dying at call `crashAt`, then recovers with a healthy OS.
    func crash(_ plan: Plan, at crashAt: Int, on host: TestHost, _ libvirt: FileHypervisor) throws -> [String] {
        let dying = FaultInjectingOS(SimulatedKernel(tree: host.tree), failAt: crashAt, mode: .dead)
        #expect(throws: (any Error).self) {
            try Executor(runner: host.runner(dying, hypervisor: FileHypervisor(libvirt, os: dying)), journal: host.journal(dying)).execute(plan)
        }
        let healthy = SimulatedKernel(tree: host.tree)
        return try Recovery(journal: host.journal(healthy), runner: host.runner(healthy, hypervisor: FileHypervisor(libvirt, os: healthy))).run()
    }

    @Test func createVMPersistKilledAtEveryCallIsUndoneByRecovery() throws {
        // Learn how many calls the operation makes, and what "done" looks like.
        let (probe, probeLibvirt) = try makeHost()
        let counter = FaultInjectingOS(SimulatedKernel(tree: probe.tree))
        let plan = try createPlan(probe)
        #expect(plan.steps.count == 10, "per vGPU: create, define, attach config, attach live, record in metadata")
        try Executor(runner: probe.runner(counter, hypervisor: FileHypervisor(probeLibvirt, os: counter)), journal: probe.journal(counter)).execute(plan)
        let done = try probe.inventory()
        #expect(done.vgpus.map(\.uuid).sorted() == ids.sorted())
        #expect(done.definitions.count == 3)
        #expect(try DomainDocument(xml: probeLibvirt.xml(of: "web01", inactive: false), what: "test").mdevUUIDs.sorted() == ids.sorted())
        #expect(try probe.journal(LiveSystemCalls()).pending().isEmpty, "a finished operation leaves no record")

        let complete = probe.snapshot()
        var undone = 0
        for crashAt in 1...counter.countedCalls {
            let (host, libvirt) = try makeHost()
            let before = host.snapshot()
            let report = try crash(plan, at: crashAt, on: host, libvirt)
            // Dying after the record's deletion (its directory fsync) means the create had completed.
            let after = host.snapshot()
            #expect(changes(before, after) == [] || changes(complete, after) == [], "crash at call \(crashAt) of \(counter.countedCalls)")
            if changes(before, after) == [] { undone += 1 }
            #expect(report.filter { $0.hasPrefix("undid") }.count <= 1)
        }
        #expect(undone >= counter.countedCalls - 1, "only a crash at the very last call leaves the create complete")
    }

    @Test func destroyKilledAtEveryCallIsFinishedByRecovery() throws {
        let (probe, probeLibvirt) = try makeHost()
        try Executor(runner: probe.runner(SimulatedKernel(tree: probe.tree), hypervisor: probeLibvirt)).execute(createPlan(probe))
        let counter = FaultInjectingOS(SimulatedKernel(tree: probe.tree))
        let plan = try destroyPlan(probe, probeLibvirt)
        try Executor(runner: probe.runner(counter, hypervisor: FileHypervisor(probeLibvirt, os: counter)), journal: probe.journal(counter)).execute(plan)
        let destroyed = probe.snapshot()
        #expect(try probe.inventory().vgpus.isEmpty)
        #expect(try probe.inventory().definitions == [unrelated], "destroy removes its vGPUs' definitions, no other")

        // The journal record is durable after its first calls (temporary, rename, directory fsync): a crash
        // before that leaves the destroy not started, after it the destroy finished.
        let recordCalls = counter.calls.filter { $0.operation.mutates }.firstIndex { $0.operation == .fsync && $0.path.hasSuffix("journal") }! + 1
        for crashAt in 1...counter.countedCalls {
            let (host, libvirt) = try makeHost()
            try Executor(runner: host.runner(SimulatedKernel(tree: host.tree), hypervisor: libvirt)).execute(createPlan(host))
            let created = host.snapshot()
            let report = try crash(try destroyPlan(host, libvirt), at: crashAt, on: host, libvirt)
            let expected = crashAt <= recordCalls - 1 ? created : destroyed
            #expect(changes(expected, host.snapshot()) == [], "crash at call \(crashAt) of \(counter.countedCalls)")
            #expect(report.allSatisfy { $0.hasPrefix("finished") || $0.hasPrefix("removed") })
        }
    }

    @Test func aFailedRecoveryKeepsTheRecordAndSaysSo() throws {
        let (host, libvirt) = try makeHost()
        _ = libvirt
        let record = try host.journal(LiveSystemCalls()).begin(try createPlan(host), command: "vgpuctl create --vm web01")
        // No libvirt: undoing the attach steps cannot work.
        let error = #expect(throws: VGPUError.self) {
            try Recovery(journal: host.journal(LiveSystemCalls()), runner: host.runner(SimulatedKernel(tree: host.tree))).run()
        }
        #expect(error?.kind == .interrupted)
        #expect(error?.message.contains("vgpuctl create --vm web01") == true)
        #expect(error?.fix.contains(record.id) == true, "names the journal file")
        #expect(try host.journal(LiveSystemCalls()).pending() == [record])
    }
}
