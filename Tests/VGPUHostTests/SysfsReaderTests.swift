import Testing
import VGPUCore
import VGPUFixtures
import VGPUHost

@Suite struct SysfsReaderTests {
    @Test func samplesHostListsEveryParentAndType() throws {
        let host = try TestHost()
        let inventory = try host.inventory()
        #expect(inventory.parents.map(\.name) == ["mbochs", "mdpy", "mtty"])
        let mtty = try #require(inventory.parent("mtty"))
        #expect(mtty.gpu == "mtty" && mtty.vendor == nil && mtty.numaNode == nil && mtty.layout == .mdev)
        #expect(mtty.types == [
            VGPUType(id: "mtty-1", name: "Single port serial", deviceAPI: "vfio-pci", availableInstances: 24),
            VGPUType(id: "mtty-2", name: "Dual port serial", deviceAPI: "vfio-pci", availableInstances: 12),
        ])
        #expect(inventory.parent("mdpy")?.type("mdpy-hd")?.description == "virtual display, 1920x1080 framebuffer")
        #expect(inventory.vgpus.isEmpty)
    }

    @Test func existingMdevsAreListedWithParentTypeAndGroup() throws {
        let host = try TestHost()
        try host.tree.addMdevDevice("6a0e1f0e-4b2f-4c1a-9d3e-0123456789ab", parentDirectory: "devices/virtual/mdpy/mdpy", type: "mdpy-xga", iommuGroup: 7)
        let vgpus = try host.inventory().vgpus
        #expect(vgpus == [VGPU(uuid: uuid("6a0e1f0e-4b2f-4c1a-9d3e-0123456789ab"), parent: "mdpy", type: "mdpy-xga", layout: .mdev, iommuGroup: 7)])
    }

    @Test func nvidiaMdevGPUsCarryVendorAndNUMANode() throws {
        let host = try TestHost { try FixtureHosts.nvidiaMdev(at: $0) }
        let inventory = try host.inventory()
        #expect(inventory.parents.map(\.name) == ["0000:3b:00.0", "0000:86:00.0"])
        let second = try #require(inventory.parent("0000:86:00.0"))
        #expect(second.gpu == "0000:86:00.0" && second.vendor == nvidiaVendorID && second.numaNode == 1)
        let t4 = try #require(second.type("nvidia-230"))
        #expect(t4.name == "GRID T4-1Q" && t4.availableInstances == 16)
        #expect(t4.description?.contains("framebuffer=1024M") == true)
    }

    /// The fixture trees write `creatable_vgpu_types` as NVIDIA's driver does, and so does the lab's nvlab module:
    /// `Expected/nvlab-creatable_vgpu_types.txt` is this listing, and the VM tier's pci-vendor-vfio compares the
    /// module's file with it byte for byte, so the reader is tested on the format the kernel module exposes.
    @Test func theCreatableListingIsTheFormatTheLabModuleExposes() throws {
        let timeSliced = FixtureHosts.h200Types.filter { (1420...1429).contains($0.0) }
        let host = try TestHost { sysfs in
            let tree = try SysfsTree(sysfs: sysfs)
            try tree.addPCIDevice("0000:45:00.0", numaNode: 0)
            try tree.addNVIDIAVFIO(try tree.addPCIDevice("0000:45:10.0", numaNode: 0, physfn: "0000:45:00.0"), creatable: timeSliced, current: 0, iommuGroup: 20)
            return tree
        }
        let listing = try #require(host.contents("sys/bus/pci/devices/0000:45:10.0/nvidia/creatable_vgpu_types"))
        expectOutput(listing, file: "nvlab-creatable_vgpu_types.txt")
        let vf = try #require(try host.inventory().parent("0000:45:10.0"))
        #expect(vf.types.map(\.id) == (1420...1429).map { "nvidia-\($0)" })
        #expect(vf.type("nvidia-1428")?.name == "NVIDIA H200X-70C" && vf.gpu == "0000:45:00.0")
    }

    @Test func vendorSpecificVFIOVFsBelongToTheirPF() throws {
        let host = try TestHost { try FixtureHosts.nvidiaVFIO(at: $0, assigned: ["0000:17:00.5": 1416]) }
        let inventory = try host.inventory()
        #expect(inventory.parents.count == 8)
        let free = try #require(inventory.parent("0000:65:00.4"))
        #expect(free.layout == .nvidiaVFIO && free.gpu == "0000:65:00.0" && free.numaNode == 1)
        #expect(free.types.count == FixtureHosts.h200Types.count)
        #expect(free.type("nvidia-1414")?.name == "NVIDIA H200X-1-18C")
        #expect(free.type("nvidia-1414")?.availableInstances == 1)
        // The driver lists only the running type on a GPU that has one; the busy VF offers nothing.
        #expect(inventory.parent("0000:17:00.4")?.types.map(\.id) == ["nvidia-1416"])
        #expect(inventory.parent("0000:17:00.5").map { $0.types.map(\.id) } == [], "the busy VF is a parent that offers no type")
        let vgpu = try #require(inventory.vgpus.first)
        #expect(inventory.vgpus.count == 1)
        #expect(vgpu.parent == "0000:17:00.5" && vgpu.type == "nvidia-1416" && vgpu.layout == .nvidiaVFIO && vgpu.pciAddress == "0000:17:00.5")
        #expect(vgpu.iommuGroup == 101)
        #expect(vgpu.uuid == (try host.inventory()).vgpus[0].uuid, "a VF assigned by another tool gets a stable UUID")
    }

    /// A scoped read (what `apply` reads) is the whole read narrowed: the named GPUs' parents, each with the named
    /// types (by id, or by name as `types` shows it, with or without the vendor's prefix), and their vGPUs.
    @Test(arguments: [FixtureLayout.mdev, .vfio])
    func aScopedReadIsTheWholeReadNarrowed(layout: FixtureLayout) throws {
        let host = try TestHost { try FixtureHosts.large(at: $0, gpus: 3, vfsPerGPU: 3, types: 4, layout: layout) }
        let kernel = SimulatedKernel(tree: host.tree)
        let vf = FixtureHosts.vfAddress(pf: "0000:27:00.0", index: 1)
        let writer = SysfsWriter(paths: host.paths, os: kernel), id = uuid("6a0e1f0e-4b2f-4c1a-9d3e-0123456789ab")
        if layout == .mdev { try writer.createMdev(id, parent: vf, type: "nvidia-502") } else { try writer.assignVF(vf, type: "nvidia-502", uuid: id) }
        let reader = SysfsReader(paths: host.paths, os: kernel)
        let whole = try reader.inventory()
        for scope in [InventoryScope(types: ["nvidia-501"]), InventoryScope(gpus: ["0000:27:00.0"], types: ["A100-3-26C"]),
                      InventoryScope(gpus: ["0000:17:00.0", "0000:37:00.0", "nosuch"], types: ["NVIDIA A100-1-80C", "nvidia-503"]),
                      InventoryScope(gpus: ["0000:27:00.0"], types: [])] {
            let scoped = try reader.inventory(scope: scope)
            let parents = whole.parents.filter { scope.gpus?.contains($0.gpu) ?? true }
            #expect(scoped.parents.map(\.name).sorted() == parents.map(\.name).sorted(), "\(scope)")
            for parent in parents {
                let wanted = parent.types.filter { type in
                    scope.types!.contains(type.id) || InventoryScope.named(type.name, isOneOf: scope.types!)
                }
                #expect(scoped.parent(parent.name)?.types == wanted, "\(parent.name) in \(scope)")
                #expect(scoped.parent(parent.name).map { ($0.gpu, $0.vendor, $0.numaNode, $0.layout) } ?? ("", nil, nil, .mdev)
                        == (parent.gpu, parent.vendor, parent.numaNode, parent.layout))
            }
            #expect(scoped.vgpus == whole.vgpus.filter { vgpu in parents.contains { $0.name == vgpu.parent } }, "\(scope)")
        }
    }

    @Test func missingSysfsIsAHostError() {
        let reader = SysfsReader(paths: HostPaths(root: "/nonexistent-root"))
        let error = #expect(throws: VGPUError.self) { try reader.inventory() }
        #expect(error?.kind == .host)
        #expect(error?.message.contains("/nonexistent-root/sys") == true)
    }

    @Test func hostWithoutMdevSupportIsEmptyNotAnError() throws {
        let host = try TestHost { try SysfsTree(sysfs: $0) }
        #expect(try host.inventory() == Inventory(parents: [], vgpus: []))
    }

    @Test func creatableTypesParserToleratesHeaderAndSpacing() {
        let parsed = NVIDIAVGPUTypes.parse("ID    : vGPU Name\n1414  : NVIDIA H200X-1-18C\n  1420:NVIDIA H200X-4C  \n\ngarbage\n")
        #expect(parsed.map(\.id) == ["nvidia-1414", "nvidia-1420"])
        #expect(parsed.map(\.name) == ["NVIDIA H200X-1-18C", "NVIDIA H200X-4C"])
        #expect(NVIDIAVGPUTypes.number("nvidia-1414") == 1414)
        #expect(NVIDIAVGPUTypes.number("mtty-1") == nil)
    }

    @Test func numaNodesAndTheirCPUsComeFromSysfs() throws {
        let host = try TestHost { try SysfsTree(sysfs: $0) }
        try host.tree.write("devices/system/node/node0/cpulist", "0-3\n")
        try host.tree.write("devices/system/node/node1/cpulist", "4-7,16\n")
        try host.tree.write("devices/system/node/possible", "0-1\n")
        #expect(host.reader().numaNodeCPUs() == [0: [0, 1, 2, 3], 1: [4, 5, 6, 7, 16]])
    }
}
