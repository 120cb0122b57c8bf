import Testing
@testable import VGPUCore

@Suite struct DefinitionPlannerTests {
    let id = Inventories.uuid(1)

    @Test func defineWithAParentNeedsNoFreeInstanceButAnOfferedType() throws {
        let inventory = exhausting("mtty-2", in: Inventories.samples)
        let (definition, plan) = try DefinitionPlanner.define(type: "mtty-2", parent: "mtty", uuid: id, start: .manual,
                                                              inventory: inventory, config: PlacementConfig())
        #expect(definition == Definition(uuid: id, parent: "mtty", type: "mtty-2", start: .manual))
        #expect(plan.steps == [.writeDefinition(definition)])
        let wrong = #expect(throws: VGPUError.self) {
            try DefinitionPlanner.define(type: "mtty-2", parent: "mdpy", uuid: id, start: .auto, inventory: inventory, config: PlacementConfig())
        }
        #expect(wrong?.fix.contains("mtty") == true)
    }

    @Test func defineRefusesAUUIDThatIsDefinedOrRunsAsAnotherType() throws {
        var inventory = Inventories.samples
        inventory.definitions = [Definition(uuid: id, parent: "mtty", type: "mtty-1", start: .auto)]
        #expect(throws: VGPUError.self) {
            try DefinitionPlanner.define(type: "mtty-1", parent: nil, uuid: id, start: .auto, inventory: inventory, config: PlacementConfig())
        }
        inventory.definitions = []
        inventory.vgpus = [Inventories.vgpu(1, on: "mtty", type: "mtty-1")]
        #expect(throws: VGPUError.self) {
            try DefinitionPlanner.define(type: "mtty-2", parent: nil, uuid: id, start: .auto, inventory: inventory, config: PlacementConfig())
        }
        let (existing, _) = try DefinitionPlanner.define(type: "mtty-1", parent: nil, uuid: id, start: .auto, inventory: inventory, config: PlacementConfig())
        #expect(existing.parent == "mtty", "defining a running vGPU makes it persistent")
    }

    @Test func startAndStopFollowTheDefinition() throws {
        var inventory = Inventories.samples
        inventory.definitions = [Definition(uuid: id, parent: "mdpy", type: "mdpy-vga", start: .auto)]
        #expect(try DefinitionPlanner.start(id, inventory: inventory).steps == [.createMdev(uuid: id, parent: "mdpy", type: "mdpy-vga")])
        #expect(throws: VGPUError.self) { try DefinitionPlanner.stop(id, inventory: inventory) }
        inventory.vgpus = [Inventories.vgpu(1, on: "mdpy", type: "mdpy-vga")]
        #expect(throws: VGPUError.self) { try DefinitionPlanner.start(id, inventory: inventory) }
        #expect(try DefinitionPlanner.stop(id, inventory: inventory).steps == [.removeMdev(uuid: id, parent: "mdpy", type: "mdpy-vga")])
        #expect(try DefinitionPlanner.remove(id, inventory: inventory).steps.last == .deleteDefinition(inventory.definitions[0]),
                "remove also drops the definition, so the vGPU does not come back at boot")
        inventory = exhausting("mdpy-vga", in: inventory)
        inventory.vgpus = []
        #expect(throws: VGPUError.self) { try DefinitionPlanner.start(id, inventory: inventory) }
    }

    @Test func persistAddsADefinitionAfterEachCreateAndDestroyDeletesIt() throws {
        let (placements, plan) = try LifecyclePlanner.create(PlacementRequest(type: "mtty-1", count: 2), uuids: Inventories.uuids(2),
                                                            inventory: Inventories.samples)
        let persisted = DefinitionPlanner.persisting(plan, start: .auto)
        #expect(persisted.steps.count == 4)
        #expect(persisted.steps[1] == .writeDefinition(Definition(uuid: Inventories.uuids(2)[0], parent: placements[0].parent, type: "mtty-1", start: .auto)))
        #expect(persisted.recovery == .rollBack)

        var inventory = Inventories.samples
        let vgpu = VGPU(uuid: id, parent: "mtty", type: "mtty-1", layout: .mdev, domains: ["web01"])
        inventory.vgpus = [vgpu]
        inventory.definitions = [Definition(uuid: id, parent: "mtty", type: "mtty-1", start: .auto),
                                 Definition(uuid: Inventories.uuid(2), parent: "mtty", type: "mtty-1", start: .auto)]
        let (destroy, kept) = try DomainPlanner.destroy(domain: "web01", isActive: false, inventory: inventory) { _ in "x" }
        #expect(destroy.steps.last == .deleteDefinition(inventory.definitions[0]))
        #expect(!destroy.steps.contains(.deleteDefinition(inventory.definitions[1])), "other definitions are untouched")
        #expect(destroy.recovery == .rollForward)
        #expect(kept.isEmpty)
    }

    @Test func destroyOfOneOfTwoDomainsNamingAVGPUDetachesItAndKeepsItForTheOther() throws {
        let id = Inventories.uuid(1)
        var inventory = Inventories.samples
        inventory.vgpus = [VGPU(uuid: id, parent: "mtty", type: "mtty-1", layout: .mdev, domains: ["b1", "a1"])]
        inventory.definitions = [Definition(uuid: id, parent: "mtty", type: "mtty-1", start: .auto)]
        let (destroy, kept) = try DomainPlanner.destroy(domain: "b1", isActive: false, inventory: inventory) { _ in "x" }
        #expect(destroy.steps == [.detachHostdev(domain: "b1", uuid: id, xml: "x", scope: .config)])
        #expect(kept.map(\.uuid) == [id])
        let (nothing, _) = try DomainPlanner.destroy(domain: "zzattacker", isActive: false, inventory: inventory) { _ in "x" }
        #expect(nothing.steps.isEmpty)
        #expect(inventory.vgpus[0].domain == nil && inventory.vgpus[0].domains == ["a1", "b1"])
        let remove = #expect(throws: VGPUError.self) { try LifecyclePlanner.remove(id, inventory: inventory) }
        #expect(remove?.kind == .busy && remove?.message.contains("a1, b1") == true)
        let detach = #expect(throws: VGPUError.self) { try DomainPlanner.detachedDomain(inventory.vgpus[0], requested: nil) }
        #expect(detach?.message.contains("several domains") == true)
        #expect(try DomainPlanner.detachedDomain(inventory.vgpus[0], requested: "b1") == "b1")
    }

    @Test func startAutoPlansEachStoppedAutoDefinitionOnItsOwn() throws {
        var inventory = Inventories.samples
        inventory.definitions = [
            Definition(uuid: Inventories.uuid(1), parent: "mtty", type: "mtty-1", start: .auto),
            Definition(uuid: Inventories.uuid(2), parent: "mtty", type: "mtty-1", start: .manual),
            Definition(uuid: Inventories.uuid(3), parent: "gone", type: "mtty-1", start: .auto),
            Definition(uuid: Inventories.uuid(4), parent: "mdpy", type: "mdpy-vga", start: .auto),
        ]
        inventory.vgpus = [Inventories.vgpu(4, on: "mdpy", type: "mdpy-vga")]
        let planned = DefinitionPlanner.startAuto(inventory: inventory)
        #expect(planned.map(\.0.uuid) == [Inventories.uuid(1), Inventories.uuid(3)], "auto and not running only")
        #expect(try planned[0].1.get().steps == [.createMdev(uuid: Inventories.uuid(1), parent: "mtty", type: "mtty-1")])
        guard case .failure(let error) = planned[1].1 else { Issue.record("a missing parent must be refused"); return }
        #expect(error.kind == .notFound && error.message.contains("gone"))
    }

    func exhausting(_ type: String, in inventory: Inventory) -> Inventory {
        var copy = inventory
        for p in copy.parents.indices {
            for t in copy.parents[p].types.indices where copy.parents[p].types[t].id == type { copy.parents[p].types[t].availableInstances = 0 }
        }
        return copy
    }

    @Test func numaNodeComesFromNumatune() throws {
        let node = { (xml: String) in NUMAPinning.memoryNode(of: try DomainDocument(xml: xml, what: "test")) }
        #expect(try node("<domain><numatune><memory mode='strict' nodeset='1'/></numatune></domain>") == 1)
        #expect(try node("<domain><numatune><memory mode='strict' nodeset='0-1'/></numatune></domain>") == nil)
        #expect(try node("<domain><memory unit='KiB'>1024</memory></domain>") == nil)
    }

    @Test func numaNodeComesFromPinnedCPUsWhenAllAreOnOneNode() throws {
        let nodes = [0: Set(0...7), 1: Set(8...15)]
        let document = { (xml: String) in try DomainDocument(xml: xml, what: "test") }
        #expect(NUMAPinning.cpuList("0-3,8,^2") == [0, 1, 3, 8])
        #expect(NUMAPinning.cpuList("3-1") == nil)
        #expect(NUMAPinning.node(ofDomain: try document("<domain><vcpu placement='static' cpuset='8-11'>4</vcpu></domain>"), nodeCPUs: nodes) == 1)
        #expect(NUMAPinning.node(ofDomain: try document("<domain><vcpu cpuset='6-9'>4</vcpu></domain>"), nodeCPUs: nodes) == nil, "spans two nodes")
        let pinned = "<domain><vcpu>2</vcpu><cputune><vcpupin vcpu='0' cpuset='2'/><vcpupin vcpu='1' cpuset='3'/></cputune></domain>"
        #expect(NUMAPinning.node(ofDomain: try document(pinned), nodeCPUs: nodes) == 0)
        let both = "<domain><vcpu cpuset='8'>1</vcpu><numatune><memory nodeset='0'/></numatune></domain>"
        #expect(NUMAPinning.node(ofDomain: try document(both), nodeCPUs: nodes) == 0, "numatune wins")
        #expect(NUMAPinning.node(ofDomain: try document("<domain><vcpu>2</vcpu></domain>"), nodeCPUs: nodes) == nil)
    }
}
