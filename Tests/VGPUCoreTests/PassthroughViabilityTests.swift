import Testing
@testable import VGPUCore

/// Each passthrough decision on a small host value: no files, no kernel.
@Suite struct PassthroughViabilityTests {
    static func display(_ address: String, group: Int?, driver: String? = "bochs-drm", bootVGA: Bool = false) -> PCIDevice {
        PCIDevice(address: address, vendor: "0x1234", device: "0x1111", classCode: 0x038000, driver: driver, numaNode: 0,
                  iommuGroup: group, bootVGA: bootVGA)
    }
    static func bridge(_ address: String, group: Int) -> PCIDevice {
        PCIDevice(address: address, vendor: "0x1b36", device: "0x000e", classCode: 0x060400, driver: nil, iommuGroup: group)
    }
    static func audio(_ address: String, group: Int, driver: String? = "snd_hda_intel") -> PCIDevice {
        PCIDevice(address: address, vendor: "0x8086", device: "0x293e", classCode: 0x040300, driver: driver, iommuGroup: group)
    }

    func refusals(_ address: String, _ host: PCIHost) throws -> [PassthroughRefusal] {
        let report = try #require(GPUReport.reports(host).first { $0.device.address == address })
        return report.refusals.map(\.refusal)
    }

    @Test func aGPUAloneInItsGroupCanGo() throws {
        let host = PCIHost(devices: [Self.display("0000:01:00.0", group: 3)], iommuEnabled: true)
        #expect(try refusals("0000:01:00.0", host) == [])
    }

    @Test func aBridgeInTheGroupDoesNotCount() throws {
        // A pcieport-bound bridge and the GPU behind it share a group: the kernel's rule ignores bridges.
        var bridge = Self.bridge("0000:03:00.0", group: 7)
        bridge.driver = "pcieport"
        let host = PCIHost(devices: [bridge, Self.display("0000:04:01.0", group: 7)], iommuEnabled: true)
        #expect(try refusals("0000:04:01.0", host) == [])
        let report = try #require(GPUReport.reports(host).first)
        #expect(report.groupMembers.map(\.address) == ["0000:03:00.0", "0000:04:01.0"])
        #expect(report.groupMembers.map(\.isBridge) == [true, false])
    }

    @Test func anotherEndpointBoundToAHostDriverRefusesTheGroup() throws {
        let host = PCIHost(devices: [Self.bridge("0000:03:00.0", group: 7), Self.display("0000:04:01.0", group: 7),
                                     Self.display("0000:04:02.0", group: 7)], iommuEnabled: true)
        #expect(try refusals("0000:04:01.0", host) == [.groupMemberInUse(group: 7, member: "0000:04:02.0", driver: "bochs-drm", bridge: false)])
        #expect(try refusals("0000:04:02.0", host) == [.groupMemberInUse(group: 7, member: "0000:04:01.0", driver: "bochs-drm", bridge: false)])
        let refusal = PassthroughRefusal.groupMemberInUse(group: 7, member: "0000:04:02.0", driver: "bochs-drm", bridge: false)
        #expect(refusal.message("0000:04:01.0") == "0000:04:01.0 shares IOMMU group 7 with 0000:04:02.0, which the host driver bochs-drm holds")
        #expect(refusal.fix("0000:04:01.0").contains("pass 0000:04:02.0 through too"))
    }

    @Test func aBridgeBoundToADriverThatKeepsDMAOwnershipCounts() throws {
        // Linux 5.19+: the driver decides (driver_managed_dma), not the header: shpchp on a PCIe-to-PCI bridge.
        var bridge = Self.bridge("0000:03:00.0", group: 7)
        bridge.driver = "shpchp"
        let host = PCIHost(devices: [bridge, Self.display("0000:04:01.0", group: 7)], iommuEnabled: true)
        #expect(try refusals("0000:04:01.0", host) == [.groupMemberInUse(group: 7, member: "0000:03:00.0", driver: "shpchp", bridge: true)])
        let refusal = PassthroughRefusal.groupMemberInUse(group: 7, member: "0000:03:00.0", driver: "shpchp", bridge: true)
        #expect(refusal.message("0000:04:01.0").contains("with the bridge 0000:03:00.0, which the host driver shpchp holds"))
        #expect(refusal.fix("0000:04:01.0").hasPrefix("unbind shpchp from the bridge"))
    }

    @Test func membersReleasedToVFIOOrUnboundKeepTheGroupViable() throws {
        for driver in [nil, "vfio-pci", "pci-stub", "nvgrace_gpu_vfio_pci"] as [String?] {
            let host = PCIHost(devices: [Self.display("0000:04:01.0", group: 7), Self.display("0000:04:02.0", group: 7, driver: driver)],
                               iommuEnabled: true)
            #expect(try refusals("0000:04:01.0", host) == [], "member bound to \(driver ?? "nothing")")
        }
    }

    @Test func theCardsOwnFunctionsGoWithIt() throws {
        // The audio function shares the slot and the group, and is bound: part of the same request, so no refusal.
        let host = PCIHost(devices: [Self.display("0000:02:00.0", group: 5), Self.audio("0000:02:00.1", group: 5)], iommuEnabled: true)
        #expect(try refusals("0000:02:00.0", host) == [])
        let report = try #require(GPUReport.reports(host).first)
        #expect(report.functions.map(\.address) == ["0000:02:00.1"])
        #expect(GPUReport.reports(host).count == 1, "the audio function is no GPU")
    }

    @Test func aCardFunctionInAnotherGroupBringsThatGroupsMembers() throws {
        // Function 1 sits in group 6 with an unrelated bound NIC: the card cannot go whole.
        let nic = PCIDevice(address: "0000:09:00.0", vendor: "0x8086", device: "0x10c9", classCode: 0x020000, driver: "igb", iommuGroup: 6)
        let host = PCIHost(devices: [Self.display("0000:02:00.0", group: 5), Self.audio("0000:02:00.1", group: 6), nic], iommuEnabled: true)
        #expect(try refusals("0000:02:00.0", host) == [.groupMemberInUse(group: 6, member: "0000:09:00.0", driver: "igb", bridge: false)])
    }

    @Test func theBootVGADeviceIsRefused() throws {
        let host = PCIHost(devices: [Self.display("0000:00:01.0", group: 1, bootVGA: true)], iommuEnabled: true)
        #expect(try refusals("0000:00:01.0", host) == [.bootVGA])
    }

    @Test func iommuOffNamesTheKernelParameter() throws {
        let host = PCIHost(devices: [Self.display("0000:01:00.0", group: nil)], iommuEnabled: false, cpuVendor: .intel)
        #expect(try refusals("0000:01:00.0", host) == [.iommuOff(.intel)])
        #expect(PassthroughRefusal.iommuOff(.intel).fix("x").contains("intel_iommu=on"))
        #expect(PassthroughRefusal.iommuOff(.amd).fix("x").contains("amd_iommu=off"))
        #expect(CPUVendor(vendorID: "GenuineIntel") == .intel && CPUVendor(vendorID: "AuthenticAMD") == .amd)
    }

    @Test func aDeviceOutsideEveryGroupIsRefused() throws {
        let host = PCIHost(devices: [Self.display("0000:01:00.0", group: 3), Self.display("0000:05:00.0", group: nil)], iommuEnabled: true)
        #expect(try refusals("0000:05:00.0", host) == [.noIOMMUGroup])
    }

    @Test func vGPUsOnTheGPUOrItsVFsAreRefused() throws {
        var mdevParent = Self.display("0000:3b:00.0", group: 20, driver: "nvidia")
        mdevParent.isMdevParent = true
        mdevParent.vgpus = 2
        var pf = PCIDevice(address: "0000:17:00.0", vendor: "0x10de", device: "0x2335", classCode: 0x030200, driver: "nvidia",
                           iommuGroup: 30, sriov: SRIOVState(totalVFs: 16, numVFs: 2))
        pf.numaNode = 1
        let vf = { (address: String, type: Bool) in
            PCIDevice(address: address, vendor: "0x10de", device: "0x2335", classCode: 0x030200, driver: "nvidia",
                      iommuGroup: address == "0000:17:00.4" ? 31 : 32, physfn: "0000:17:00.0", hasVendorVFIOLayout: true, vgpus: type ? 1 : 0)
        }
        let host = PCIHost(devices: [mdevParent, pf, vf("0000:17:00.4", true), vf("0000:17:00.5", false)], iommuEnabled: true)
        let reports = GPUReport.reports(host)
        #expect(reports.map(\.device.address) == ["0000:17:00.0", "0000:3b:00.0"], "VFs are no GPUs of their own")
        #expect(reports[0].layout == .nvidiaVFIO && reports[0].vgpus == 1)
        #expect(reports[0].refusals.map(\.refusal) == [.vgpusExist(count: 1), .vfsEnabled(count: 2)])
        #expect(reports[1].layout == .mdev && reports[1].refusals.map(\.refusal) == [.vgpusExist(count: 2)])
    }

    @Test func aNonDisplayPFIsAGPUOnlyWithTheVendorLayoutOnItsVFs() throws {
        let nic = PCIDevice(address: "0000:05:00.0", vendor: "0x8086", device: "0x10c9", classCode: 0x020000, driver: "igb",
                            iommuGroup: 9, sriov: SRIOVState(totalVFs: 7, numVFs: 1))
        var vf = PCIDevice(address: "0000:05:10.0", vendor: "0x8086", device: "0x10ca", classCode: 0x020000, iommuGroup: 10, physfn: "0000:05:00.0")
        #expect(GPUReport.reports(PCIHost(devices: [nic, vf], iommuEnabled: true)).isEmpty)
        vf.hasVendorVFIOLayout = true
        #expect(GPUReport.reports(PCIHost(devices: [nic, vf], iommuEnabled: true)).map(\.device.address) == ["0000:05:00.0"])
    }

    @Test func jsonAndTextNameEveryRefusal() throws {
        let host = PCIHost(devices: [Self.display("0000:00:01.0", group: 1, bootVGA: true)], iommuEnabled: true)
        let json = String(decoding: GPUReportOutput.json(GPUReport.reports(host)), as: UTF8.self)
        #expect(json.contains("\"reason\" : \"boot-vga\""))
        #expect(json.contains("\"possible\" : false"))
        let text = GPUReportOutput.text(GPUReport.reports(host))
        #expect(text.contains("passthrough: refused") && text.contains("fix: make another GPU"))
        #expect(GPUReportOutput.text([]).hasPrefix("no GPUs"))
    }
}
