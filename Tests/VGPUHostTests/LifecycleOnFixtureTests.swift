import Foundation
import Testing
import VGPUCore
import VGPUFixtures
import VGPUHost

/// Create and remove through the real executor and sysfs writer, on fixture trees where `SimulatedKernel`
/// plays the kernel, and with `FaultInjectingOS` failing every possible call in turn.
@Suite struct LifecycleOnFixtureTests {
    func execute(_ plan: Plan, on host: TestHost, os: SystemCalls) throws {
        try Executor(runner: host.runner(os), journal: host.journal(os)).execute(plan)
    }

    @Test func createWritesTheUUIDToTheTypesCreateFileAndRemoveUndoesIt() throws {
        let host = try TestHost()
        let kernel = SimulatedKernel(tree: host.tree)
        let traced = FaultInjectingOS(kernel)
        let id = uuid("0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50")
        let (_, plan) = try LifecyclePlanner.create(PlacementRequest(type: "mdpy-vga"), uuids: [id], inventory: host.inventory())
        try execute(plan, on: host, os: traced)
        #expect(traced.calls.filter { $0.operation.mutates } == [
            .init(operation: .write, path: host.root + "/sys/class/mdev_bus/mdpy/mdev_supported_types/mdpy-vga/create"),
        ])
        let after = try host.inventory(kernel)
        #expect(after.vgpus.map(\.uuid) == [id])
        #expect(after.parent("mdpy")?.type("mdpy-vga")?.availableInstances == 3)

        try execute(try LifecyclePlanner.remove(id, inventory: after), on: host, os: kernel)
        let removed = try host.inventory(kernel)
        #expect(removed.vgpus.isEmpty)
        #expect(removed.parent("mdpy")?.type("mdpy-vga")?.availableInstances == 4)
    }

    @Test func kernelErrnosBecomeActionableErrors() throws {
        let cases: [(Int32, VGPUError.Kind, String)] = [
            (EEXIST, .invalidInput, "choose another UUID"), (ENOSPC, .noCapacity, "remove an unused vGPU"),
            (EACCES, .host, "run as root"), (EROFS, .host, "read-write"), (ENOENT, .host, "vendor driver"),
        ]
        for (code, kind, fix) in cases {
            let host = try TestHost()
            let writer = SysfsWriter(paths: host.paths, os: FaultInjectingOS(failAt: 1, errno: code))
            let error = #expect(throws: VGPUError.self) { try writer.createMdev(uuid("0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50"), parent: "mtty", type: "mtty-1") }
            #expect(error?.kind == kind, "errno \(code)")
            #expect(error?.fix.contains(fix) == true, "errno \(code): \(error?.fix ?? "")")
            #expect(error?.message.contains("mtty-1/create") == true || kind != .host, "names the path")
        }
    }

    /// A three-vGPU create, failed at each of its calls in turn (journal included): every failure leaves the
    /// tree as it was, and a recovery afterwards finds nothing to do.
    @Test func everyFailurePointOfAMultiStepCreateRollsBackCompletely() throws {
        let probe = try TestHost()
        let counter = FaultInjectingOS(SimulatedKernel(tree: probe.tree))
        let request = PlacementRequest(type: "mtty-1", count: 3)
        try execute(LifecyclePlanner.create(request, uuids: (0..<3).map { _ in LibUUID.random() }, inventory: probe.inventory()).plan, on: probe, os: counter)
        #expect(counter.calls.filter { $0.operation == .write }.count == 3, "three sysfs writes")
        #expect(counter.countedCalls > 3, "plus the journal record's")

        for failAt in 1...counter.countedCalls {
            let host = try TestHost()
            let before = host.snapshot()
            let os = FaultInjectingOS(SimulatedKernel(tree: host.tree), failAt: failAt)
            let plan = try LifecyclePlanner.create(request, uuids: (0..<3).map { _ in LibUUID.random() }, inventory: host.inventory())
                .plan
            let error = #expect(throws: VGPUError.self) { try execute(plan, on: host, os: os) }
            #expect(error?.message.contains("Input/output error") == true, "fail at \(failAt): \(error?.message ?? "")")
            #expect(changes(before, host.snapshot()) == [], "fail at \(failAt)")
        }
    }

    /// Vendor-specific VFIO: the VF's UUID record and `current_vgpu_type` move together or not at all.
    @Test func vfAssignmentRollsBackAtEveryFailurePoint() throws {
        let probe = try TestHost { try FixtureHosts.nvidiaVFIO(at: $0) }
        let counter = FaultInjectingOS()
        let id = uuid("0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50")
        let plan = try LifecyclePlanner.create(PlacementRequest(type: "nvidia-1414"), uuids: [id], inventory: probe.inventory()).plan
        try execute(plan, on: probe, os: counter)
        #expect(probe.contents("sys/bus/pci/devices/0000:17:00.4/nvidia/current_vgpu_type") == "1414")
        let listed = try probe.inventory()
        #expect(listed.vgpus.map(\.uuid) == [id], "the recorded UUID names the VF's vGPU")

        for failAt in 1...counter.countedCalls {
            let host = try TestHost { try FixtureHosts.nvidiaVFIO(at: $0) }
            let before = host.snapshot()
            let error = #expect(throws: VGPUError.self) { try execute(plan, on: host, os: FaultInjectingOS(failAt: failAt)) }
            #expect(error?.kind == .host)
            #expect(changes(before, host.snapshot()) == [], "fail at \(failAt) of \(counter.countedCalls)")
        }

        try execute(try LifecyclePlanner.remove(id, inventory: listed), on: probe, os: LiveSystemCalls())
        #expect(probe.contents("sys/bus/pci/devices/0000:17:00.4/nvidia/current_vgpu_type") == "0")
        #expect(probe.contents("run/vgpuctl/vf/0000:17:00.4") == nil)
    }

    /// The vendor driver's refusals of a `current_vgpu_type` write (the lab's nvlab module gives both): EINVAL is
    /// a physical GPU that cannot take one more of the type (exit 4, naming the GPU), EBUSY a VF open through VFIO
    /// (exit 5); neither leaves the VF's UUID record behind.
    @Test func vendorDriverRefusalsOfATypeNameTheGPUAndTheFix() throws {
        let id = uuid("0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50")
        let probe = try TestHost { try FixtureHosts.nvidiaVFIO(at: $0) }
        let tracer = FaultInjectingOS()
        try SysfsWriter(paths: probe.paths, os: tracer).assignVF("0000:17:00.4", type: "nvidia-1428", uuid: id)
        let write = try #require(tracer.calls.filter { $0.operation.mutates }.firstIndex { $0.path.hasSuffix("current_vgpu_type") })
        let cases: [(Int32, VGPUError.Kind, String, String)] = [
            (EINVAL, .noCapacity, "GPU 0000:17:00.0 cannot host one more nvidia-1428", "remove a vGPU from 0000:17:00.0"),
            (EBUSY, .busy, "open through VFIO", "stop the process or domain using VF 0000:17:00.4"),
        ]
        for (code, kind, message, fix) in cases {
            let host = try TestHost { try FixtureHosts.nvidiaVFIO(at: $0) }
            let writer = SysfsWriter(paths: host.paths, os: FaultInjectingOS(failAt: write + 1, errno: code))
            let error = #expect(throws: VGPUError.self) { try writer.assignVF("0000:17:00.4", type: "nvidia-1428", uuid: id) }
            #expect(error?.kind == kind, "errno \(code)")
            #expect(error?.message.contains(message) == true, "errno \(code): \(error?.message ?? "")")
            #expect(error?.message.contains("0000:17:00.4/nvidia/current_vgpu_type") == true, "names the path")
            #expect(error?.fix.contains(fix) == true, "errno \(code): \(error?.fix ?? "")")
            #expect(host.contents("run/vgpuctl/vf/0000:17:00.4") == nil, "no record left")
            #expect(host.contents("sys/bus/pci/devices/0000:17:00.4/nvidia/current_vgpu_type") == "0\n", "untouched")
        }
    }

    @Test func libuuidGivesRandomAndStableNamedUUIDs() {
        let a = LibUUID.random(), b = LibUUID.random()
        #expect(a != b)
        #expect(a.text.dropFirst(14).first == "4", "version 4")
        #expect(LibUUID.named("vf:0000:17:00.4") == LibUUID.named("vf:0000:17:00.4"))
        #expect(LibUUID.named("vf:0000:17:00.4").text.dropFirst(14).first == "5", "version 5")
    }
}
