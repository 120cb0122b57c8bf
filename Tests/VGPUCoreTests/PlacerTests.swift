import Testing
@testable import VGPUCore

@Suite struct PlacerTests {
    @Test func spreadPutsEightOnEightGPUs() throws {
        let placements = try Placer(inventory: Inventories.sriov()).place(PlacementRequest(type: "nvidia-500", count: 8, policy: .spread))
        #expect(Set(placements.map(\.gpu)).count == 8)
        #expect(placements.allSatisfy { $0.reason.hasPrefix("spread:") })
    }

    @Test func packFillsOneGPUFirst() throws {
        let placements = try Placer(inventory: Inventories.sriov()).place(PlacementRequest(type: "nvidia-500", count: 4, policy: .pack))
        #expect(Set(placements.map(\.gpu)) == ["0000:10:00.0"])
        #expect(Set(placements.map(\.parent)).count == 4, "one vGPU per VF")
        let five = try Placer(inventory: Inventories.sriov()).place(PlacementRequest(type: "nvidia-500", count: 5, policy: .pack))
        #expect(five.map(\.gpu).filter { $0 == "0000:10:00.0" }.count == 4)
        #expect(five[4].gpu == "0000:11:00.0")
    }

    @Test func defaultPolicyIsPack() throws {
        let placements = try Placer(inventory: Inventories.sriov()).place(PlacementRequest(type: "nvidia-500", count: 2))
        #expect(placements[0].gpu == placements[1].gpu)
    }

    @Test func packFillsTheGPUThatAlreadyHostsTheType() throws {
        let inventory = Inventories.sriov(vgpus: [Inventories.vgpu(1, on: "0000:15:00.4", type: "nvidia-500")])
        let placement = try Placer(inventory: inventory).place(PlacementRequest(type: "nvidia-500", policy: .pack))[0]
        #expect(placement.gpu == "0000:15:00.0")
        #expect(placement.reason.contains("already hosts 1"))
    }

    @Test func nvidiaGPUHostingAnotherTypeIsSkipped() throws {
        let inventory = Inventories.sriov(gpus: 2, vgpus: [Inventories.vgpu(1, on: "0000:10:00.4", type: "nvidia-501")])
        let placements = try Placer(inventory: inventory).place(PlacementRequest(type: "nvidia-500", count: 3, policy: .spread))
        #expect(placements.count == 3 && placements.allSatisfy { $0.gpu == "0000:11:00.0" })
        #expect(throws: VGPUError.self) {
            try Placer(inventory: inventory).place(PlacementRequest(type: "nvidia-500", count: 5))
        }
    }

    @Test func heterogeneousRuleLetsAGPUMixTypes() throws {
        let inventory = Inventories.sriov(gpus: 1, vgpus: [Inventories.vgpu(1, on: "0000:10:00.4", type: "nvidia-501")])
        let config = PlacementConfig(rules: ["0000:10:00.0": GPURules(heterogeneous: true)])
        let placements = try Placer(inventory: inventory, config: config).place(PlacementRequest(type: "nvidia-500", count: 3))
        #expect(placements.count == 3)
    }

    @Test func reservedGPUsRefuseOtherTypes() throws {
        let config = PlacementConfig(rules: ["0000:10:00.0": GPURules(enabledTypes: ["nvidia-501"])])
        let placements = try Placer(inventory: Inventories.sriov(), config: config).place(PlacementRequest(type: "nvidia-500", count: 4, policy: .pack))
        #expect(!placements.contains { $0.gpu == "0000:10:00.0" })
        let oneGPU = Inventories.sriov(gpus: 1)
        let error = #expect(throws: VGPUError.self) {
            try Placer(inventory: oneGPU, config: config).place(PlacementRequest(type: "nvidia-500"))
        }
        #expect(error?.kind == .noCapacity)
        #expect(error?.message.contains("reserved for nvidia-501") == true)
    }

    @Test func exhaustedGroupIsRefusedWithCapacityError() throws {
        let config = PlacementConfig(groups: [
            GPUGroup(name: "small", policy: .spread, gpus: ["0000:10:00.0"]),
            GPUGroup(name: "rest", policy: .pack, gpus: []),
        ])
        let inventory = Inventories.sriov()
        #expect(try Placer(inventory: inventory, config: config).place(PlacementRequest(type: "nvidia-500", count: 4, group: "small")).count == 4)
        let error = #expect(throws: VGPUError.self) {
            try Placer(inventory: inventory, config: config).place(PlacementRequest(type: "nvidia-500", count: 5, group: "small"))
        }
        #expect(error?.kind == .noCapacity)
        #expect(error?.message.contains("group small") == true)
        let rest = try Placer(inventory: inventory, config: config).place(PlacementRequest(type: "nvidia-500", count: 28, group: "rest"))
        #expect(!rest.contains { $0.gpu == "0000:10:00.0" })
    }

    @Test func unknownTypeAndGroupAreNotFound() {
        let unknownType = #expect(throws: VGPUError.self) { try Placer(inventory: Inventories.sriov()).place(PlacementRequest(type: "nvidia-999")) }
        #expect(unknownType?.kind == .notFound)
        #expect(unknownType?.fix.contains("nvidia-500") == true)
        let unknownGroup = #expect(throws: VGPUError.self) { try Placer(inventory: Inventories.sriov()).place(PlacementRequest(type: "nvidia-500", group: "gold")) }
        #expect(unknownGroup?.kind == .notFound)
    }

    @Test func numaNodeIsPreferredWhileItHasRoom() throws {
        let placements = try Placer(inventory: Inventories.sriov()).place(PlacementRequest(type: "nvidia-500", count: 17, policy: .spread, numaNode: 1))
        let nodeOneGPUs: Set = ["0000:14:00.0", "0000:15:00.0", "0000:16:00.0", "0000:17:00.0"]
        #expect(placements.prefix(16).allSatisfy { nodeOneGPUs.contains($0.gpu) })
        #expect(!nodeOneGPUs.contains(placements[16].gpu), "falls back to other nodes when the preferred one is full")
    }

    @Test func explicitParentMustOfferTheType() {
        let error = #expect(throws: VGPUError.self) {
            try Placer(inventory: Inventories.samples).place(PlacementRequest(type: "mtty-1", parent: "mdpy"))
        }
        #expect(error?.kind == .invalidInput)
        #expect(error?.fix.contains("mtty") == true)
    }

    @Test func samplesPlaceSeveralOnOneParent() throws {
        let placements = try Placer(inventory: Inventories.samples).place(PlacementRequest(type: "mdpy-vga", count: 4))
        #expect(placements.count == 4)
        #expect(throws: VGPUError.self) { try Placer(inventory: Inventories.samples).place(PlacementRequest(type: "mdpy-vga", count: 5)) }
    }
}
