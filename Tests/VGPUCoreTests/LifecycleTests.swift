import Testing
@testable import VGPUCore

@Suite struct LifecycleTests {
    @Test func uuidParsingIsStrictAndCanonical() throws {
        #expect(try DeviceUUID(parsing: "6A0E1F0E-4B2F-4C1A-9D3E-0123456789AB").text == "6a0e1f0e-4b2f-4c1a-9d3e-0123456789ab")
        for bad in ["", "123", "6a0e1f0e4b2f4c1a9d3e0123456789ab", "6a0e1f0e-4b2f-4c1a-9d3e-0123456789ag",
                    "6a0e1f0e-4b2f-4c1a-9d3e-0123456789ab\n", "../../../../etc/passwd-0000-0000-000000"] {
            #expect(throws: VGPUError.self, "\(bad)") { try DeviceUUID(parsing: bad) }
        }
    }

    @Test func namesThatLeaveTheirDirectoryAreRefused() {
        for bad in ["../../x", "..", ".", "a/b", "", "mtty\u{7}", "x\ny", String(repeating: "a", count: 256)] {
            let error = #expect(throws: VGPUError.self) { try Validation.typeName(bad) }
            #expect(error?.kind == .invalidInput)
        }
        #expect(throws: Never.self) { try Validation.typeName("nvidia-222") }
        #expect(throws: Never.self) { try Validation.parentName("0000:3b:00.0") }
        #expect(Validation.printable("a\u{1}b") == "a\\u{1}b")
    }

    @Test func createPlansOneStepPerVGPU() throws {
        let (placements, plan) = try LifecyclePlanner.create(PlacementRequest(type: "mtty-2", count: 2), uuids: Inventories.uuids(2), inventory: Inventories.samples)
        #expect(placements.map(\.parent) == ["mtty", "mtty"])
        #expect(plan.steps == [
            .createMdev(uuid: Inventories.uuid(1000), parent: "mtty", type: "mtty-2"),
            .createMdev(uuid: Inventories.uuid(1001), parent: "mtty", type: "mtty-2"),
        ])
        #expect(plan.recovery == .rollBack)
    }

    @Test func duplicateUUIDIsRefused() {
        let inventory = Inventory(parents: Inventories.samples.parents, vgpus: [Inventories.vgpu(7, on: "mtty", type: "mtty-1")])
        let error = #expect(throws: VGPUError.self) {
            try LifecyclePlanner.create(PlacementRequest(type: "mtty-1"), uuids: [Inventories.uuid(7)], inventory: inventory)
        }
        #expect(error?.kind == .invalidInput)
        #expect(error?.message.contains("already exists") == true)
    }

    @Test func removeOfAnAttachedVGPUNamesTheDomain() {
        var vgpu = Inventories.vgpu(3, on: "mtty", type: "mtty-1")
        vgpu.domains = ["web01"]
        let error = #expect(throws: VGPUError.self) {
            try LifecyclePlanner.remove(vgpu.uuid, inventory: Inventory(parents: Inventories.samples.parents, vgpus: [vgpu]))
        }
        #expect(error?.kind == .busy)
        #expect(error?.message.contains("web01") == true)
    }

    @Test func everyStepInvertsBackToItself() {
        let definition = Definition(uuid: Inventories.uuid(1), parent: "mtty", type: "mtty-1", start: .auto)
        let steps: [Step] = [
            .createMdev(uuid: Inventories.uuid(1), parent: "p", type: "t"),
            .assignVF(vf: "0000:17:00.4", type: "nvidia-1414", uuid: Inventories.uuid(2)),
            .attachHostdev(domain: "web01", uuid: Inventories.uuid(1), xml: "<hostdev/>", scope: .both),
            .writeDefinition(definition),
        ]
        for step in steps {
            #expect(step.inverse != step)
            #expect(step.inverse.inverse == step)
        }
    }

    @Test func exitCodesAreDistinctAndDocumented() {
        let codes = VGPUError.exitCodes.values
        #expect(Set(codes).count == codes.count)
        for code in codes { #expect(VGPUError.exitCodeHelp.contains("  \(code)  ")) }
    }
}
