import Foundation
import Testing
import VGPUApp
import VGPUCore
import VGPUFixtures
import VGPUHost

/// `vgpuctl gpus` on fixture trees: each passthrough decision read from sysfs as the kernel lays it out, the whole
/// text and JSON output compared with the files in Expected/gpus/.
@Suite struct GPUsOnFixtureTests {
    func reports(_ host: TestHost) throws -> [GPUReport] {
        try ReadGPUs().read(in: Environment(paths: host.paths, os: LiveSystemCalls()))
    }

    func expectOutputs(_ reports: [GPUReport], _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        expectOutput(GPUReportOutput.text(reports), file: "gpus/\(name).txt", sourceLocation: sourceLocation)
        expectOutput(String(decoding: GPUReportOutput.json(reports), as: UTF8.self), file: "gpus/\(name).json", sourceLocation: sourceLocation)
    }

    func refusals(_ reports: [GPUReport], _ address: String) throws -> [PassthroughRefusal] {
        try #require(reports.first { $0.device.address == address }).refusals.map(\.refusal)
    }

    @Test func theLabMachine() throws {
        let host = try TestHost { try FixtureHosts.pciLab(at: $0, cpuVendor: "GenuineIntel") }
        let reports = try reports(host)
        #expect(reports.map(\.device.address) == ["0000:00:01.0", "0000:41:00.0", "0000:42:00.0", "0000:44:01.0", "0000:44:02.0", "0000:81:00.0"],
                "display-class functions only: not the audio function, the NICs or the bridges")
        // Alone on its root port: its own group.
        #expect(try refusals(reports, "0000:41:00.0") == [])
        // Behind the PCIe-to-PCI bridge: the other bound endpoint counts, and so does the bridge, bound to shpchp
        // (which keeps DMA ownership, unlike pcieport): the lab's kernel says the same.
        #expect(try refusals(reports, "0000:44:01.0") == [
            .groupMemberInUse(group: 17, member: "0000:43:00.0", driver: "shpchp", bridge: true),
            .groupMemberInUse(group: 17, member: "0000:44:02.0", driver: "bochs-drm", bridge: false),
        ])
        let shared = try #require(reports.first { $0.device.address == "0000:44:01.0" })
        #expect(shared.groupMembers.filter(\.isBridge).map(\.address) == ["0000:43:00.0"])
        // The multi-function card: the audio function is part of the request.
        #expect(try refusals(reports, "0000:42:00.0") == [])
        #expect(reports.first { $0.device.address == "0000:42:00.0" }?.functions.map(\.address) == ["0000:42:00.1"])
        #expect(try refusals(reports, "0000:00:01.0") == [.bootVGA])
        #expect(reports.first { $0.device.address == "0000:81:00.0" }?.device.numaNode == 1)
        #expect(reports.first { $0.device.address == "0000:00:01.0" }?.device.numaNode == nil, "numa_node -1 is no node")
        expectOutputs(reports, "lab")
    }

    @Test func theSharedGroupIsViableOnceTheOthersReleaseDMA() throws {
        let host = try TestHost { try FixtureHosts.pciLab(at: $0) }
        let bridge = "devices/pci0000:40/0000:40:02.0/0000:43:00.0"
        // Rebind 44:02.0 to vfio-pci, as `driver_override` + `drivers_probe` would: the bridge still counts.
        try FileManager.default.removeItem(atPath: host.tree.path("\(bridge)/0000:44:02.0/driver"))
        try FileManager.default.createDirectory(atPath: host.tree.path("bus/pci/drivers/vfio-pci"), withIntermediateDirectories: true)
        try host.tree.link("\(bridge)/0000:44:02.0/driver", to: "bus/pci/drivers/vfio-pci")
        var reports = try reports(host)
        #expect(try refusals(reports, "0000:44:01.0") == [.groupMemberInUse(group: 17, member: "0000:43:00.0", driver: "shpchp", bridge: true)])
        // shpchp unbound from the bridge: viable.
        try FileManager.default.removeItem(atPath: host.tree.path("\(bridge)/driver"))
        reports = try self.reports(host)
        #expect(try refusals(reports, "0000:44:01.0") == [])
        #expect(try refusals(reports, "0000:44:02.0") == [.groupMemberInUse(group: 17, member: "0000:44:01.0", driver: "bochs-drm", bridge: false)])
    }

    @Test func iommuOffNamesTheKernelParameter() throws {
        let host = try TestHost { try FixtureHosts.pciLab(at: $0, iommu: false, cpuVendor: "GenuineIntel") }
        let reports = try reports(host)
        #expect(reports.count == 6)
        #expect(try refusals(reports, "0000:41:00.0") == [.iommuOff(.intel)])
        #expect(try refusals(reports, "0000:00:01.0") == [.iommuOff(.intel)], "IOMMU off comes alone: nothing else can be judged")
        expectOutputs(reports, "iommu-off")
    }

    @Test func aGPUHostingMdevVGPUsIsRefused() throws {
        let host = try TestHost { try FixtureHosts.pciLab(at: $0) }
        let gpu = "devices/pci0000:40/0000:40:00.0/0000:41:00.0"
        try host.tree.addMdevParent(gpu, types: [MdevTypeSpec("nvidia-230", name: "GRID T4-1Q", available: 14)])
        try host.tree.addMdevDevice("6a0e1f0e-4b2f-4c1a-9d3e-0123456789ab", parentDirectory: gpu, type: "nvidia-230", iommuGroup: 40)
        try host.tree.addMdevDevice("7b1f2a1f-5c3a-4d2b-8e4f-123456789abc", parentDirectory: gpu, type: "nvidia-230", iommuGroup: 41)
        let report = try #require(try reports(host).first { $0.device.address == "0000:41:00.0" })
        #expect(report.layout == .mdev && report.vgpus == 2)
        #expect(report.refusals.map(\.refusal) == [.vgpusExist(count: 2)])
    }

    @Test func vendorSpecificVFIOGPUsCountTheirVFsVGPUs() throws {
        let host = try TestHost { try FixtureHosts.nvidiaVFIO(at: $0, assigned: ["0000:17:00.5": 1416]) }
        let reports = try reports(host)
        #expect(reports.map(\.device.address) == ["0000:17:00.0", "0000:65:00.0"], "PFs only: VFs are no GPUs of their own")
        #expect(reports.map(\.layout) == [.nvidiaVFIO, .nvidiaVFIO])
        #expect(reports.map(\.vgpus) == [1, 0])
        #expect(try refusals(reports, "0000:17:00.0").contains(.vgpusExist(count: 1)))
        expectOutputs(reports, "nvidia-vfio")
    }

    @Test func aMissingSysfsIsAHostError() {
        let context = Environment(paths: HostPaths(root: "/nonexistent-root"), os: LiveSystemCalls())
        let error = #expect(throws: VGPUError.self) { try ReadGPUs().read(in: context) }
        #expect(error?.kind == .host && error?.exitCode == 8)
    }
}
