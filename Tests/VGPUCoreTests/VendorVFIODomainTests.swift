import Testing
@testable import VGPUCore

/// Vendor-specific VFIO VFs with libvirt domains: `--lifetime domain` (the VF reserved in the definition, typed by
/// the hook at start, released at stop), VFs reserved by domains left out of placement, and the NUMA reason.
@Suite struct VendorVFIODomainTests {
    /// Two H200-like PFs with `vfs` VFs each, node 0 and node 1; `typed` maps a VF to (UUID index, type).
    static func host(vfs: Int = 3, typed: [String: (Int, String)] = [:]) -> Inventory {
        var parents: [Parent] = [], vgpus: [VGPU] = []
        for (pf, node) in [("0000:45:00.0", 0), ("0000:82:00.0", 1)] {
            for index in 0..<vfs {
                let vf = pf.replacingOccurrences(of: ":00.0", with: ":10.\(index * 2)")
                let hosted = typed.first { $0.key.hasPrefix(String(pf.prefix(7))) }?.value.1
                let offered: [String] = ["nvidia-1426", "nvidia-1428"]
                let types = offered.filter { hosted == nil || $0 == hosted }
                let busy = typed[vf] != nil
                parents.append(Parent(name: vf, layout: .nvidiaVFIO, gpu: pf, vendor: "0x8086", numaNode: node,
                                      types: busy ? [] : types.map { VGPUType(id: $0, name: $0, deviceAPI: "vfio-pci", availableInstances: 1) }))
                if let (uuid, type) = typed[vf] {
                    vgpus.append(VGPU(uuid: Inventories.uuid(uuid), parent: vf, type: type, layout: .nvidiaVFIO, pciAddress: vf))
                }
            }
        }
        return Inventory(parents: parents, vgpus: vgpus)
    }

    static let templates = HostdevXML(mdev: Template(name: "m", text: "<hostdev type='mdev' uuid='{{uuid}}'/>"),
                                      pci: Template(name: "p", text: "<hostdev type='pci' managed='no'><source><address domain='0x{{pci_domain}}' bus='0x{{pci_bus}}' slot='0x{{pci_slot}}' function='0x{{pci_function}}'/></source></hostdev>"),
                                      nodedev: Template(name: "n", text: ""))

    static func domain(_ name: String, vf: String?, requests: [VGPURequest]) throws -> DomainDocument {
        let metadata = try templates.metadata(requests).map { "<metadata>\(VGPUMetadata.stored($0))</metadata>" } ?? ""
        let hostdev = try vf.map { vf in try templates.hostdev(for: VGPU(uuid: Inventories.uuid(1), parent: vf, type: "nvidia-1426", layout: .nvidiaVFIO, pciAddress: vf)) } ?? ""
        return try DomainDocument(xml: "<domain><name>\(name)</name>\(metadata)<devices>\(hostdev)</devices></domain>", what: name)
    }

    @Test func aDomainLifetimeVFIsPlacedNowOnTheDomainsNodeAndRecordedWithItsVF() throws {
        let uuid = Inventories.uuid(1)
        let (plan, placement) = try DomainPlanner.requestForDomain(type: "nvidia-1428", uuid: uuid, domain: "web01", inventory: Self.host(),
                                                                   hostdev: { try Self.templates.hostdev(for: $0) }, group: nil, policy: nil, numaNode: 1)
        #expect(placement?.parent == "0000:82:10.0" && placement?.reason.hasSuffix("on the domain's NUMA node 1") == true)
        let request = VGPURequest(uuid: uuid, type: "nvidia-1428", lifetime: .domain, vf: "0000:82:10.0")
        #expect(plan.steps == [
            .attachHostdev(domain: "web01", uuid: uuid, xml: "<hostdev type='pci' managed='no'><source><address domain='0x0000' bus='0x82' slot='0x10' function='0x0'/></source></hostdev>", scope: .config),
            .recordVGPU(domain: "web01", request: request),
        ])
        let document = try Self.domain("web01", vf: "0000:82:10.0", requests: [request])
        #expect(VGPUMetadata.requests(in: document).requests == [request], "the VF round-trips through the metadata")
        #expect(document.references(.pci("0000:82:10.0")))
    }

    @Test func aMetadataVFThatIsNoPCIAddressIsSkippedAndReported() throws {
        let bad = "<domain><name>d</name><metadata><v:vgpus xmlns:v='\(VGPUMetadata.namespace)'><v:device uuid='\(Inventories.uuid(1))' type='nvidia-1426' lifetime='domain' vf='../x'/></v:vgpus></metadata></domain>"
        let read = VGPUMetadata.requests(in: try DomainDocument(xml: bad, what: "t"))
        #expect(read.requests.isEmpty && read.problems.count == 1 && read.problems[0].contains("vf '../x'"))
    }

    @Test func theHookTypesTheReservedVFAtStartAndKeepsAVFAlreadyTyped() throws {
        let uuid = Inventories.uuid(1)
        let request = VGPURequest(uuid: uuid, type: "nvidia-1426", lifetime: .domain, vf: "0000:45:10.2")
        let domain = try Self.domain("web01", vf: "0000:45:10.2", requests: [request])
        let plan = try HookPlanner.prepare(domain, inventory: Self.host(), running: [:], config: PlacementConfig())
        #expect(plan.steps == [.assignVF(vf: "0000:45:10.2", type: "nvidia-1426", uuid: uuid)])
        let again = try HookPlanner.prepare(domain, inventory: Self.host(typed: ["0000:45:10.2": (1, "nvidia-1426")]), running: [:], config: PlacementConfig())
        #expect(again.steps.isEmpty, "typed for it already (a start that was not released)")
    }

    @Test func theHookRefusesAReservedVFThatIsTakenGoneOrNoLongerOffersTheType() throws {
        let request = VGPURequest(uuid: Inventories.uuid(1), type: "nvidia-1426", lifetime: .domain, vf: "0000:45:10.2")
        let domain = try Self.domain("web01", vf: "0000:45:10.2", requests: [request])
        func refusal(_ inventory: Inventory, running: [HostdevSource: Set<String>] = [:]) -> VGPUError? {
            #expect(throws: VGPUError.self) { try HookPlanner.prepare(domain, inventory: inventory, running: running, config: PlacementConfig()) }
        }
        let taken = refusal(Self.host(typed: ["0000:45:10.2": (7, "nvidia-1426")]))
        #expect(taken?.kind == .busy && taken?.message.contains("the VF is vGPU \(Inventories.uuid(7))") == true)
        let otherType = refusal(Self.host(typed: ["0000:45:10.0": (7, "nvidia-1428")]))
        #expect(otherType?.kind == .noCapacity && otherType?.message.contains("GPU 0000:45:00.0 runs another type") == true)
        #expect(otherType?.fix.contains("--lifetime domain") == true)
        let gone = refusal(Self.host(vfs: 1))
        #expect(gone?.kind == .notFound && gone?.fix.contains("sriov_numvfs") == true)
        let clone = refusal(Self.host(), running: [.pci("0000:45:10.2"): ["web02"]])
        #expect(clone?.kind == .busy && clone?.message.contains("running domain web02") == true)
    }

    @Test func releaseClearsTheDomainsVFUnlessAnotherDomainOrAProcessHoldsIt() throws {
        let uuid = Inventories.uuid(1)
        let request = VGPURequest(uuid: uuid, type: "nvidia-1426", lifetime: .domain, vf: "0000:45:10.2")
        let domain = try Self.domain("web01", vf: "0000:45:10.2", requests: [request])
        let inventory = Self.host(typed: ["0000:45:10.2": (1, "nvidia-1426")])
        #expect(HookPlanner.release(domain, inventory: inventory, running: [:]).steps == [.releaseVF(vf: "0000:45:10.2", type: "nvidia-1426", uuid: uuid)])
        #expect(HookPlanner.release(domain, inventory: inventory, running: [.pci("0000:45:10.2"): ["web02"]]).steps.isEmpty)
        let holder = DeviceHolder(pid: 4242, command: "qemu-system-x86", file: "/dev/vfio/12")
        let held = HookPlanner.releaseDecision(domain, inventory: inventory, running: [:], held: [uuid: [holder]])
        #expect(held.plan.steps.isEmpty && held.warnings.count == 1 && held.warnings[0].contains("4242"))
    }

    @Test func aVFADomainNamesWhileUntypedOffersNothingToPlacement() throws {
        let reserved = Self.host().annotated(with: [.pci("0000:82:10.0"): ["web01"]])
        #expect(reserved.parent("0000:82:10.0")?.types.allSatisfy { $0.availableInstances == 0 } == true)
        let placed = try Placer(inventory: reserved).place(PlacementRequest(type: "nvidia-1426", numaNode: 1))
        #expect(placed[0].parent == "0000:82:10.2", "the next VF on node 1, not the reserved one")
        let typed = Self.host(typed: ["0000:82:10.0": (1, "nvidia-1426")]).annotated(with: [.pci("0000:82:10.0"): ["web01"]])
        #expect(typed.vgpus[0].domains == ["web01"], "a typed VF is a vGPU the domain uses")
    }

    @Test func theNUMAReasonSaysWhetherTheDomainsNodeDecided() throws {
        let full = Self.host(typed: ["0000:82:10.0": (1, "nvidia-1428"), "0000:82:10.2": (2, "nvidia-1428"), "0000:82:10.4": (3, "nvidia-1428")])
        let fell = try Placer(inventory: full).place(PlacementRequest(type: "nvidia-1428", numaNode: 1))
        #expect(fell[0].gpu == "0000:45:00.0")
        #expect(fell[0].reason == "pack: no GPU with room hosts nvidia-1428 yet; 0000:45:00.0 is the first with room; the GPUs on the domain's NUMA node 1 have no room for nvidia-1428, so node 0", "\(fell[0].reason)")
        let nowhere = try Placer(inventory: Self.host()).place(PlacementRequest(type: "nvidia-1428", numaNode: 3))
        #expect(nowhere[0].reason.hasSuffix("; no GPU is on the domain's NUMA node 3, so node 0"), "\(nowhere[0].reason)")
        let unpinned = try Placer(inventory: Self.host()).place(PlacementRequest(type: "nvidia-1428"))
        #expect(!unpinned[0].reason.contains("NUMA"))
    }
}
