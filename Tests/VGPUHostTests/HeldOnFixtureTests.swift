import Foundation
import Testing
import VGPUCore
import VGPUFixtures
import VGPUHost

/// Issue 21 on fixture trees: a fake /proc where a process holds a vGPU's VFIO group (or its cdev). The
/// kernel would block a write to that vGPU's `remove` until the holder lets go, so the writer refuses it at
/// the last moment, writing nothing, and a plan that hits it is undone.
@Suite struct HeldOnFixtureTests {
    /// `pid` (`command`) holds `file` in the fake /proc under the host's root.
    static func hold(_ file: String, pid: Int, command: String = "qemu-system-x86", on host: TestHost) throws {
        let files = FileManager.default
        try files.createDirectory(atPath: "\(host.root)/proc/\(pid)/fd", withIntermediateDirectories: true)
        try "\(command)\n".write(toFile: "\(host.root)/proc/\(pid)/comm", atomically: false, encoding: .utf8)
        try files.createSymbolicLink(atPath: "\(host.root)/proc/\(pid)/fd/0", withDestinationPath: "/dev/null")
        try files.createSymbolicLink(atPath: "\(host.root)/proc/\(pid)/fd/9", withDestinationPath: file)
    }

    /// Two mtty-2 vGPUs created through the simulated kernel.
    static func twoVGPUs(on host: TestHost, kernel: SimulatedKernel) throws -> [VGPU] {
        let ids = [uuid("0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f51"), uuid("0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f52")]
        let (_, plan) = try LifecyclePlanner.create(PlacementRequest(type: "mtty-2", count: 2), uuids: ids, inventory: host.inventory(kernel))
        try Executor(runner: host.runner(kernel), journal: host.journal(kernel)).execute(plan)
        let vgpus = try host.inventory(kernel).vgpus.sorted { $0.uuid.text < $1.uuid.text }
        #expect(vgpus.map(\.uuid) == ids)
        return vgpus
    }

    @Test func theWriterRefusesToRemoveAHeldVGPUAndWritesNothing() throws {
        let host = try TestHost()
        let kernel = SimulatedKernel(tree: host.tree)
        let vgpus = try Self.twoVGPUs(on: host, kernel: kernel)
        let group = try #require(vgpus[0].iommuGroup)
        try Self.hold("/dev/vfio/\(group)", pid: 4242, on: host)
        let before = host.snapshot()
        let traced = FaultInjectingOS(kernel)
        let error = #expect(throws: VGPUError.self) { try SysfsWriter(paths: host.paths, os: traced).removeMdev(vgpus[0].uuid) }
        #expect(error?.kind == .busy)
        #expect(error?.message.contains("vGPU \(vgpus[0].uuid) is in use: process 4242 (qemu-system-x86) holds /dev/vfio/\(group)") == true,
                "\(error?.message ?? "")")
        #expect(error?.fix.contains("stop process 4242") == true)
        #expect(traced.calls.filter { $0.operation.mutates } == [], "nothing written")
        #expect(changes(before, host.snapshot()) == [])
        // The other vGPU, which nobody holds, is removed as before.
        try SysfsWriter(paths: host.paths, os: kernel).removeMdev(vgpus[1].uuid)
        #expect(try host.inventory(kernel).vgpus.map(\.uuid) == [vgpus[0].uuid])
    }

    @Test func aHolderOfTheVFIOCdevCountsToo() throws {
        let host = try TestHost()
        let kernel = SimulatedKernel(tree: host.tree)
        let vgpus = try Self.twoVGPUs(on: host, kernel: kernel)
        let directory = host.paths.mdevDevices + "/" + vgpus[1].uuid.text
        try FileManager.default.createDirectory(atPath: directory + "/vfio-dev/vfio3", withIntermediateDirectories: true)
        try Self.hold("/dev/vfio/devices/vfio3", pid: 77, command: "qemu-kvm", on: host)
        let holders = DeviceHolders(paths: host.paths, os: kernel)
        #expect(holders.files(of: vgpus[1]) == ["/dev/vfio/\(vgpus[1].iommuGroup ?? -1)", "/dev/vfio/devices/vfio3"])
        #expect(holders.held(in: try host.inventory(kernel)) == [vgpus[1].uuid: [DeviceHolder(pid: 77, command: "qemu-kvm", file: "/dev/vfio/devices/vfio3")]])
        let before = host.snapshot()
        let error = #expect(throws: VGPUError.self) { try SysfsWriter(paths: host.paths, os: kernel).removeMdev(vgpus[1].uuid) }
        #expect(error?.message.contains("process 77 (qemu-kvm) holds /dev/vfio/devices/vfio3") == true, "\(error?.message ?? "")")
        #expect(changes(before, host.snapshot()) == [])
    }

    /// A multi-step plan whose second removal hits a held vGPU: the first removal is undone (the vGPU created
    /// again under its UUID), the journal is cleared, and the tree is as it was but for the new group number.
    @Test func aPlanThatHitsAHeldVGPURollsBackCompletely() throws {
        let host = try TestHost()
        let kernel = SimulatedKernel(tree: host.tree)
        let vgpus = try Self.twoVGPUs(on: host, kernel: kernel)
        try Self.hold("/dev/vfio/\(try #require(vgpus[1].iommuGroup))", pid: 4242, on: host)
        let before = host.snapshot()
        let plan = Plan(operation: "destroy --vm ghost", steps: vgpus.map(LifecyclePlanner.removeStep), recovery: .rollForward)
        let error = #expect(throws: VGPUError.self) {
            try Executor(runner: host.runner(kernel), journal: host.journal(kernel)).execute(plan)
        }
        #expect(error?.kind == .busy)
        #expect(error?.message.contains("rolled back") == true, "\(error?.message ?? "")")
        // The vGPU created again gets a new IOMMU group number, as on a real kernel; nothing else differs.
        #expect(changes(before, host.snapshot()).filter { !$0.contains("/iommu_group: ") } == [])
        #expect(try host.inventory(kernel).vgpus.map(\.uuid).sorted { $0.text < $1.text } == vgpus.map(\.uuid))
        #expect(try host.journal(kernel).pending().isEmpty)
    }
}
