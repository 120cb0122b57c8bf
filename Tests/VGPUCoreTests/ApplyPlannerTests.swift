import Testing
import VGPUCore

/// `apply`'s planner on pure inventories: keep what matches, create what is missing, remove what is surplus, and
/// refuse (naming the GPU, the domain, the process) before anything changes.
@Suite struct ApplyPlannerTests {
    static let gpu0 = "0000:10:00.0", gpu1 = "0000:11:00.0"

    /// New UUIDs from a counter, so plans are comparable.
    final class UUIDs {
        var next = 5000
        func make() -> DeviceUUID { defer { next += 1 }; return Inventories.uuid(next) }
    }

    func layout(_ entries: DeclaredLayout.Entry...) -> DeclaredLayout { DeclaredLayout(name: "test", entries: entries) }
    func entry(_ gpus: DeclaredLayout.Selector, _ vgpus: [(String, Int)], filter: [String] = [], origin: String = "conf:1") -> DeclaredLayout.Entry {
        DeclaredLayout.Entry(gpus: gpus, deviceFilter: filter, vgpus: vgpus.map { .init(type: $0.0, count: $0.1) }, origin: origin)
    }

    /// Two NVIDIA A100-style GPUs × 4 VF parents; GPU 0 runs `running` vGPUs of nvidia-500, defined auto.
    func host(running: Int = 4, domains: [Int: [String]] = [:]) -> Inventory {
        let vgpus = (0..<running).map { index in
            VGPU(uuid: Inventories.uuid(index), parent: "0000:10:00.\(index + 4)", type: "nvidia-500", layout: .mdev, domains: domains[index] ?? [])
        }
        var inventory = Inventories.sriov(gpus: 2, vfs: 4, vgpus: vgpus)
        inventory.definitions = vgpus.map { Definition(uuid: $0.uuid, parent: $0.parent, type: $0.type, start: .auto) }
        return inventory
    }

    func plan(_ layout: DeclaredLayout, _ inventory: Inventory, config: PlacementConfig = PlacementConfig(), held: HeldDevices = [:],
              pciIDs: [String: [String]] = [:]) throws -> ApplyPlanner.Result {
        let uuids = UUIDs()
        return try ApplyPlanner.plan(layout, inventory: inventory, config: config, held: held, pciIDs: pciIDs, newUUID: uuids.make)
    }

    @Test func aMatchingHostIsANoOp() throws {
        let result = try plan(layout(entry(.gpus([Self.gpu0]), [("nvidia-500", 4)])), host())
        #expect(!result.acts)
        #expect(result.plan.steps.isEmpty)
        #expect(result.gpus.map(\.kept.count) == [4])
    }

    @Test func aSmallerCountRemovesOnlyTheSurplusAndKeepsUUIDs() throws {
        let result = try plan(layout(entry(.gpus([Self.gpu0]), [("nvidia-500", 2)])), host())
        let change = try #require(result.gpus.first)
        #expect(change.kept.map(\.uuid) == [Inventories.uuid(0), Inventories.uuid(1)])
        #expect(change.removed.map(\.uuid) == [Inventories.uuid(2), Inventories.uuid(3)])
        #expect(change.created.isEmpty)
        #expect(result.plan.steps.count == 4, "remove and undefine each of the two")
        #expect(result.plan.recovery == .rollBack)
    }

    @Test func aGrownLayoutCreatesAndDefinesOnlyWhatIsMissing() throws {
        let result = try plan(layout(entry(.all, [("nvidia-500", 4)])), host(running: 2))
        #expect(result.gpus.map(\.gpu) == [Self.gpu0, Self.gpu1])
        #expect(result.gpus[0].kept.count == 2)
        #expect(result.gpus[0].created.map(\.parent) == ["0000:10:00.6", "0000:10:00.7"], "the free VFs, in order")
        #expect(result.gpus[1].created.count == 4)
        #expect(result.gpus.flatMap(\.created).allSatisfy { $0.start == .auto })
        // Each new vGPU: create, then define (auto), and lanes are the GPUs' contiguous ranges.
        #expect(result.plan.steps.count == 12)
        #expect(result.lanes.map(\.gpu) == [Self.gpu0, Self.gpu1])
        #expect(result.lanes.map(\.steps) == [0..<4, 4..<12])
        if case .createMdev = result.plan.steps[0], case .writeDefinition = result.plan.steps[1] {} else { Issue.record("create, then define") }
    }

    @Test func aTypeChangeOnAHomogeneousGPURemovesFirstThenCreates() throws {
        let result = try plan(layout(entry(.gpus([Self.gpu0]), [("nvidia-501", 4)])), host())
        let change = try #require(result.gpus.first)
        #expect(change.removed.count == 4)
        #expect(change.created.count == 4)
        #expect(change.created.map(\.type) == Array(repeating: "nvidia-501", count: 4))
        let firstCreate = result.plan.steps.firstIndex { if case .createMdev = $0 { return true }; return false }!
        let lastRemove = result.plan.steps.lastIndex { if case .removeMdev = $0 { return true }; return false }!
        #expect(lastRemove < firstCreate)
    }

    @Test func aKeptVGPUWithoutADefinitionIsDefined() throws {
        var inventory = host(running: 2)
        inventory.definitions = []
        let result = try plan(layout(entry(.gpus([Self.gpu0]), [("nvidia-500", 2)])), inventory)
        #expect(result.gpus[0].defined.map(\.uuid) == [Inventories.uuid(0), Inventories.uuid(1)])
        #expect(result.plan.steps.count == 2 && result.plan.steps.allSatisfy { if case .writeDefinition = $0 { return true }; return false })
    }

    @Test func aDomainsVGPUIsKeptWhenAnotherCanGo() throws {
        let result = try plan(layout(entry(.gpus([Self.gpu0]), [("nvidia-500", 3)])), host(domains: [3: ["web01"]]))
        #expect(result.gpus[0].removed.map(\.uuid) == [Inventories.uuid(2)], "the unused one goes, web01's stays")
    }

    @Test func aSurplusVGPUADomainUsesRefusesTheLayoutNamingIt() throws {
        let error = #expect(throws: VGPUError.self) {
            try plan(layout(entry(.gpus([Self.gpu0]), [("nvidia-501", 4)])), host(domains: [1: ["web01"]]),
                     held: [Inventories.uuid(2): [DeviceHolder(pid: 4242, command: "qemu-system-x86", file: "/dev/vfio/12")]])
        }
        #expect(error?.kind == .busy)
        #expect(error?.message.contains("domain web01 uses it") == true)
        #expect(error?.message.contains(Inventories.uuid(1).text) == true)
        #expect(error?.message.contains("process 4242 (qemu-system-x86)") == true)
        #expect(error?.message.contains(Self.gpu0) == true)
    }

    @Test func moreThanAGPUCanHoldIsRefusedNamingTheGPU() throws {
        let error = #expect(throws: VGPUError.self) { try plan(layout(entry(.gpus([Self.gpu1]), [("nvidia-500", 5)])), host()) }
        #expect(error?.kind == .noCapacity)
        #expect(error?.message.contains("GPU \(Self.gpu1) can hold 4 × nvidia-500, and the layout asks for 5") == true)
    }

    @Test func mixedTypesOnAHomogeneousGPUAreRefused() throws {
        let error = #expect(throws: VGPUError.self) {
            try plan(layout(entry(.gpus([Self.gpu1]), [("nvidia-500", 2), ("nvidia-501", 2)])), host())
        }
        #expect(error?.kind == .invalidInput)
        #expect(error?.message.contains("GPU \(Self.gpu1) runs one vGPU type at a time") == true)
        // The config may say the GPU mixes types.
        let config = PlacementConfig(rules: [Self.gpu1: GPURules(heterogeneous: true)])
        #expect(try plan(layout(entry(.gpus([Self.gpu1]), [("nvidia-500", 2), ("nvidia-501", 2)])), host(), config: config).gpus[0].created.count == 4)
    }

    @Test func unknownAndUnofferedTypesAreRefusedNamingTheGPU() throws {
        let unknown = #expect(throws: VGPUError.self) { try plan(layout(entry(.gpus([Self.gpu1]), [("nvidia-999", 1)])), host()) }
        #expect(unknown?.kind == .notFound)
        #expect(unknown?.message.contains("nvidia-999") == true && unknown?.message.contains(Self.gpu1) == true)
        // mdpy-vga exists on the host, not on mtty.
        let unoffered = #expect(throws: VGPUError.self) { try plan(layout(entry(.gpus(["mtty"]), [("mdpy-vga", 1)])), Inventories.samples) }
        #expect(unoffered?.kind == .invalidInput)
        #expect(unoffered?.message.contains("GPU mtty does not offer type 'mdpy-vga'") == true)
        let reserved = PlacementConfig(rules: [Self.gpu1: GPURules(enabledTypes: ["nvidia-501"])])
        let refused = #expect(throws: VGPUError.self) { try plan(layout(entry(.gpus([Self.gpu1]), [("nvidia-500", 1)])), host(), config: reserved) }
        #expect(refused?.message.contains("reserved for nvidia-501") == true)
    }

    @Test func typesResolveByIDOrByName() throws {
        var inventory = Inventories.sriov(gpus: 1, vfs: 2)
        for index in inventory.parents.indices {
            inventory.parents[index].types[0].name = "NVIDIA A100-4C"
            inventory.parents[index].types[1].name = "NVIDIA A100-10C"
        }
        for text in ["nvidia-500", "NVIDIA A100-4C", "A100-4C"] {
            let result = try plan(layout(entry(.all, [(text, 2)])), inventory)
            #expect(result.gpus[0].created.map(\.type) == ["nvidia-500", "nvidia-500"], "\(text)")
        }
        inventory.parents[0].types[1].name = "NVIDIA A100-4C"
        let ambiguous = #expect(throws: VGPUError.self) { try plan(layout(entry(.all, [("A100-4C", 1)])), inventory) }
        #expect(ambiguous?.message.contains("ambiguous (nvidia-500, nvidia-501)") == true)
    }

    @Test func heterogeneousSampleParentsKeepAndAdd() throws {
        let inventory = Inventory(parents: Inventories.samples.parents,
                                  vgpus: [Inventories.vgpu(1, on: "mtty", type: "mtty-1"), Inventories.vgpu(2, on: "mtty", type: "mtty-1")],
                                  definitions: [Definition(uuid: Inventories.uuid(1), parent: "mtty", type: "mtty-1", start: .auto),
                                                Definition(uuid: Inventories.uuid(2), parent: "mtty", type: "mtty-1", start: .manual)])
        let result = try plan(layout(entry(.gpus(["mtty"]), [("mtty-1", 2), ("mtty-2", 1)]), entry(.gpus(["mdpy"]), [("mdpy-vga", 4)], origin: "conf:2")), inventory)
        #expect(result.gpus.map(\.gpu) == ["mdpy", "mtty"])
        #expect(result.gpus[1].kept.count == 2 && result.gpus[1].created.map(\.type) == ["mtty-2"])
        #expect(result.gpus[0].created.count == 4)
        #expect(throws: VGPUError.self) { try plan(layout(entry(.gpus(["mdpy"]), [("mdpy-vga", 5)])), inventory) }
        let twice = #expect(throws: VGPUError.self) {
            try plan(layout(entry(.gpus(["mtty"]), [("mtty-1", 1)]), entry(.all, [("mtty-1", 1)], origin: "conf:9")), inventory)
        }
        #expect(twice?.message.contains("GPU mtty is named by two entries") == true)
    }

    @Test func vendorSpecificVFIOAssignsVFs() throws {
        // One H200-style PF with 4 VFs; VF .4 runs nvidia-1414 (a VF running a type lists none).
        let pf = "0000:17:00.0"
        let vfs = (4..<8).map { "0000:17:00.\($0)" }
        let running = VGPU(uuid: Inventories.uuid(1), parent: vfs[0], type: "nvidia-1414", layout: .nvidiaVFIO, pciAddress: vfs[0])
        let parents = vfs.map { vf in
            Parent(name: vf, layout: .nvidiaVFIO, gpu: pf, vendor: nvidiaVendorID, types: vf == vfs[0] ? [] : [
                VGPUType(id: "nvidia-1414", name: "NVIDIA H200X-1-18C", availableInstances: 1)])
        }
        let inventory = Inventory(parents: parents, vgpus: [running])
        let grown = try plan(layout(entry(.all, [("H200X-1-18C", 3)])), inventory)
        #expect(grown.plan.steps.count == 5, "two VFs assigned and defined; the running one defined")
        #expect(grown.gpus[0].created.map(\.parent) == [vfs[1], vfs[2]])
        #expect(grown.gpus[0].created.allSatisfy { $0.layout == .nvidiaVFIO })
        if case let .assignVF(vf, type, _) = grown.plan.steps[0] { #expect(vf == vfs[1] && type == "nvidia-1414") } else { Issue.record("assign first") }
        let shrunk = try plan(layout(entry(.all, [("nvidia-1414", 0)])), inventory)
        #expect(shrunk.plan.steps == [.releaseVF(vf: vfs[0], type: "nvidia-1414", uuid: running.uuid)])
        #expect(throws: VGPUError.self) { try plan(layout(entry(.all, [("nvidia-1414", 5)])), inventory) }
    }

    /// On a full PF no VF lists anything creatable (the lab's nvlab found it): the layout that made it is still
    /// met, by id or by a name another GPU lists, and asking for one more is refused for capacity, not as unknown.
    @Test func aFullVendorSpecificGPUStillOffersTheTypeItRuns() throws {
        let full = "0000:17:00.0", other = "0000:65:00.0"
        let vfs = (4..<7).map { "0000:17:00.\($0)" }
        let running = vfs.prefix(2).enumerated().map { index, vf in
            VGPU(uuid: Inventories.uuid(index + 1), parent: vf, type: "nvidia-1428", layout: .nvidiaVFIO, pciAddress: vf)
        }
        let type = VGPUType(id: "nvidia-1428", name: "NVIDIA H200X-70C", availableInstances: 1)
        var parents = vfs.map { Parent(name: $0, layout: .nvidiaVFIO, gpu: full, vendor: nvidiaVendorID, types: []) }
        parents.append(Parent(name: "0000:65:00.4", layout: .nvidiaVFIO, gpu: other, vendor: nvidiaVendorID, types: [type]))
        var inventory = Inventory(parents: parents, vgpus: running)
        inventory.definitions = running.map { Definition(uuid: $0.uuid, parent: $0.parent, type: $0.type, start: .auto, layout: .nvidiaVFIO) }
        let byID = try plan(layout(entry(.gpus([full]), [("nvidia-1428", 2)])), inventory)
        #expect(!byID.acts && byID.gpus[0].kept.count == 2)
        #expect(try !plan(layout(entry(.gpus([full]), [("H200X-70C", 2)])), inventory).acts)
        let more = #expect(throws: VGPUError.self) { try plan(layout(entry(.gpus([full]), [("nvidia-1428", 3)])), inventory) }
        #expect(more?.kind == .noCapacity, "\(more?.message ?? "")")
    }

    /// A VF GPU lists only the type it runs (nothing when full), so a retype is planned by id: every vGPU released,
    /// then one VF each for the new type, up to the VFs there are; the driver has the last word. By name it is
    /// unknown, since nothing lists it.
    @Test func aVendorSpecificGPUIsRetypedByID() throws {
        let gpu = "0000:17:00.0"
        let vfs = (4..<7).map { "0000:17:00.\($0)" }
        let running = vfs.prefix(2).enumerated().map { index, vf in
            VGPU(uuid: Inventories.uuid(index + 1), parent: vf, type: "nvidia-1428", layout: .nvidiaVFIO, pciAddress: vf)
        }
        var inventory = Inventory(parents: vfs.map { Parent(name: $0, layout: .nvidiaVFIO, gpu: gpu, vendor: nvidiaVendorID, types: []) }, vgpus: running)
        inventory.definitions = running.map { Definition(uuid: $0.uuid, parent: $0.parent, type: $0.type, start: .auto, layout: .nvidiaVFIO) }
        let retyped = try plan(layout(entry(.all, [("nvidia-1426", 3)])), inventory)
        #expect(retyped.gpus[0].removed.count == 2 && retyped.gpus[0].created.map(\.parent) == vfs)
        #expect(retyped.plan.steps.prefix(4).allSatisfy { if case .releaseVF = $0 { true } else if case .deleteDefinition = $0 { true } else { false } },
                "releases first: \(retyped.plan.steps.map(\.summary))")
        let tooMany = #expect(throws: VGPUError.self) { try plan(layout(entry(.all, [("nvidia-1426", 4)])), inventory) }
        #expect(tooMany?.kind == .noCapacity)
        let byName = #expect(throws: VGPUError.self) { try plan(layout(entry(.all, [("H200X-35C", 1)])), inventory) }
        #expect(byName?.kind == .notFound)
    }

    @Test func groupsIndicesAndDeviceFiltersSelectGPUs() throws {
        let inventory = Inventories.sriov(gpus: 4, vfs: 1)
        let gpus = (0..<4).map { "0000:\(String(format: "%02x", 0x10 + $0)):00.0" }
        let config = PlacementConfig(groups: [GPUGroup(name: "big", policy: .pack, gpus: [gpus[2], gpus[3]]),
                                              GPUGroup(name: "rest", policy: .pack, gpus: [])])
        #expect(try plan(layout(entry(.group("big"), [("nvidia-500", 1)])), inventory, config: config).gpus.map(\.gpu) == [gpus[2], gpus[3]])
        #expect(try plan(layout(entry(.group("rest"), [("nvidia-500", 1)])), inventory, config: config).gpus.map(\.gpu) == [gpus[0], gpus[1]])
        #expect(try plan(layout(entry(.indices([0, 3]), [("nvidia-500", 1)])), inventory).gpus.map(\.gpu) == [gpus[0], gpus[3]])
        let ids = [gpus[0]: ["0x20B010DE"], gpus[1]: ["0x20B510DE"], gpus[2]: ["0x20B010DE"], gpus[3]: ["0x20B510DE", "0x151F10DE"]]
        #expect(try plan(layout(entry(.all, [("nvidia-500", 1)], filter: ["0x20b510de"])), inventory, pciIDs: ids).gpus.map(\.gpu) == [gpus[1], gpus[3]])
        // vgpu-device-manager's indices count every GPU; the filter then drops those it does not match.
        #expect(try plan(layout(entry(.indices([0, 1, 2]), [("nvidia-500", 1)], filter: ["0x20B010DE"])), inventory, pciIDs: ids).gpus.map(\.gpu) == [gpus[0], gpus[2]])
        #expect(try plan(layout(entry(.all, [("nvidia-500", 1)], filter: ["0x151F10DE"])), inventory, pciIDs: ids).gpus.map(\.gpu) == [gpus[3]])
        let outOfRange = #expect(throws: VGPUError.self) { try plan(layout(entry(.indices([4]), [("nvidia-500", 1)])), inventory) }
        #expect(outOfRange?.kind == .invalidInput)
        let unknown = #expect(throws: VGPUError.self) { try plan(layout(entry(.gpus(["0000:99:00.0"]), [("nvidia-500", 1)])), inventory) }
        #expect(unknown?.kind == .notFound)
        #expect(throws: VGPUError.self) { try plan(layout(entry(.group("nope"), [("nvidia-500", 1)])), inventory) }
    }
}
