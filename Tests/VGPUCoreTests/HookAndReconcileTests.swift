import Testing
@testable import VGPUCore

/// The hook's decisions, reconcile's plan and vgpuctl's metadata schema: pure, on fixture inventories.
@Suite struct HookAndReconcileTests {
    static let metadataTemplate = HostdevXML(mdev: Template(name: "m", text: ""), pci: Template(name: "p", text: ""), nodedev: Template(name: "n", text: ""))

    static func domain(_ name: String, devices uuids: [DeviceUUID] = [], requests: [VGPURequest] = []) throws -> DomainDocument {
        let metadata = try metadataTemplate.metadata(requests).map { "<metadata>\(VGPUMetadata.stored($0))</metadata>" } ?? ""
        let devices = uuids.map { "<hostdev mode='subsystem' type='mdev'><source><address uuid='\($0)'/></source></hostdev>" }.joined()
        return try DomainDocument(xml: "<domain><name>\(name)</name>\(metadata)<devices>\(devices)</devices></domain>", what: name)
    }

    @Test func metadataRoundTripsAndForeignNamespacesNeverCount() throws {
        let requests = [VGPURequest(uuid: Inventories.uuid(1), type: "mtty-2", lifetime: .domain, group: "lab", policy: .spread),
                        VGPURequest(uuid: Inventories.uuid(2), type: "mtty-1", lifetime: .persistent)]
        #expect(VGPUMetadata.requests(in: try Self.domain("d", requests: requests)).requests == requests)
        let foreign = "<domain><metadata><vgpu:vgpus xmlns:vgpu='urn:other'><vgpu:device uuid='\(Inventories.uuid(1))' type='mtty-2'/></vgpu:vgpus></metadata></domain>"
        #expect(VGPUMetadata.requests(in: try DomainDocument(xml: foreign, what: "t")).requests.isEmpty)
        let bad = "<domain><name>d</name><metadata><v:vgpus xmlns:v='\(VGPUMetadata.namespace)'><v:device uuid='x' type='mtty-2'/><v:device uuid='\(Inventories.uuid(3))' type='mtty-1' lifetime='forever'/></v:vgpus></metadata></domain>"
        let read = VGPUMetadata.requests(in: try DomainDocument(xml: bad, what: "t"))
        #expect(read.requests.isEmpty && read.problems.count == 2)
        #expect(try Self.metadataTemplate.metadata([]) == nil)
    }

    @Test func prepareStartsDefinitionsCreatesRequestsAndRefusesTheRest() throws {
        var inventory = Inventories.samples
        let running = Inventories.vgpu(1, on: "mtty", type: "mtty-1"), defined = Inventories.uuid(2), requested = Inventories.uuid(3)
        inventory.vgpus = [running]
        inventory.definitions = [Definition(uuid: defined, parent: "mtty", type: "mtty-2", start: .manual)]
        let domain = try Self.domain("web01", devices: [running.uuid, defined, requested],
                                     requests: [VGPURequest(uuid: requested, type: "mdpy-vga", lifetime: .domain)])
        let plan = try HookPlanner.prepare(domain, inventory: inventory, running: [:], config: PlacementConfig())
        #expect(plan.steps == [.createMdev(uuid: defined, parent: "mtty", type: "mtty-2"), .createMdev(uuid: requested, parent: "mdpy", type: "mdpy-vga")])
        #expect(plan.recovery == .rollBack)

        let unknown = try Self.domain("web02", devices: [Inventories.uuid(9)])
        let error = #expect(throws: VGPUError.self) { try HookPlanner.prepare(unknown, inventory: inventory, running: [:], config: PlacementConfig()) }
        #expect(error?.kind == .notFound && error?.message.contains(Inventories.uuid(9).text) == true && error?.fix.contains("vgpuctl define") == true)

        let clone = try Self.domain("web01-clone", devices: [running.uuid])
        let refusal = #expect(throws: VGPUError.self) {
            try HookPlanner.prepare(clone, inventory: inventory, running: [.mdev(running.uuid): ["web01"]], config: PlacementConfig())
        }
        #expect(refusal?.kind == .busy && refusal?.message.contains("web01-clone") == true && refusal?.message.contains("running domain web01") == true)
        #expect(try HookPlanner.prepare(try Self.domain("web01", devices: [running.uuid]), inventory: inventory,
                                        running: [.mdev(running.uuid): ["web01"]], config: PlacementConfig()).steps.isEmpty, "its own status file")
    }

    @Test func prepareRefusesWhenTwoRequestsDoNotFit() throws {
        let uuids = Inventories.uuids(5)
        let domain = try Self.domain("big", devices: uuids, requests: uuids.map { VGPURequest(uuid: $0, type: "mdpy-vga", lifetime: .domain) })
        let error = #expect(throws: VGPUError.self) { try HookPlanner.prepare(domain, inventory: Inventories.samples, running: [:], config: PlacementConfig()) }
        #expect(error?.kind == .noCapacity, "mdpy has 4 instances; the 5th is refused before anything is created")
    }

    @Test func releaseRemovesOnlyDomainLifetimeVGPUsNobodyElseUses() throws {
        var inventory = Inventories.samples
        let mine = Inventories.vgpu(1, on: "mtty", type: "mtty-1"), kept = Inventories.vgpu(2, on: "mtty", type: "mtty-1")
        let shared = Inventories.vgpu(3, on: "mtty", type: "mtty-1")
        inventory.vgpus = [mine, kept, shared]
        let domain = try Self.domain("web01", devices: [mine.uuid, kept.uuid, shared.uuid], requests: [
            VGPURequest(uuid: mine.uuid, type: "mtty-1", lifetime: .domain), VGPURequest(uuid: kept.uuid, type: "mtty-1", lifetime: .persistent),
            VGPURequest(uuid: shared.uuid, type: "mtty-1", lifetime: .domain),
        ])
        let plan = HookPlanner.release(domain, inventory: inventory, running: [.mdev(shared.uuid): ["other"]])
        #expect(plan.steps == [LifecyclePlanner.removeStep(mine)])
        #expect(plan.recovery == .rollForward)
    }

    @Test func reconcileFindsMissingOrphanedSharedAndUndefined() throws {
        var inventory = Inventories.samples
        let auto = Inventories.uuid(1), orphan = Inventories.vgpu(2, on: "mtty", type: "mtty-1"), requested = Inventories.uuid(3)
        let undefined = Inventories.uuid(4), stale = Inventories.vgpu(5, on: "mtty", type: "mtty-2")
        inventory.vgpus = [orphan, stale]
        inventory.definitions = [Definition(uuid: auto, parent: "mtty", type: "mtty-2", start: .auto)]
        let domains = [
            ReconcilePlanner.Domain(name: "a", isActive: false, autostart: false, definition: try Self.domain("a", devices: [requested, undefined],
                requests: [VGPURequest(uuid: requested, type: "mdpy-vga", lifetime: .persistent)])),
            ReconcilePlanner.Domain(name: "b", isActive: false, autostart: false, definition: try Self.domain("b", devices: [stale.uuid],
                requests: [VGPURequest(uuid: stale.uuid, type: "mtty-2", lifetime: .domain)])),
            ReconcilePlanner.Domain(name: "c", isActive: false, autostart: false, definition: try Self.domain("c", devices: [undefined])),
        ]
        let report = ReconcilePlanner.plan(inventory: inventory, domains: domains, config: PlacementConfig(), prune: false)
        #expect(report.actions.map(\.plan.steps) == [
            [.createMdev(uuid: auto, parent: "mtty", type: "mtty-2")],
            [.createMdev(uuid: requested, parent: "mdpy", type: "mdpy-vga")],
            [LifecyclePlanner.removeStep(stale)],
        ])
        #expect(report.orphans == [orphan])
        #expect(report.problems.contains { $0.contains("\(undefined)") && $0.contains("nobody defined") })
        #expect(report.problems.contains { $0.contains("named by domains a, c") })

        let pruned = ReconcilePlanner.plan(inventory: inventory, domains: domains, config: PlacementConfig(), prune: true)
        #expect(pruned.orphans.isEmpty && pruned.actions.last?.plan.steps == [LifecyclePlanner.removeStep(orphan)])
    }

    @Test func reconcileTwiceHasNothingToDoAndWithoutLibvirtNeverCallsAnythingAnOrphan() throws {
        var inventory = Inventories.samples
        let first = ReconcilePlanner.plan(inventory: inventory, domains: [], config: PlacementConfig(), prune: true)
        #expect(first.actions.isEmpty && first.orphans.isEmpty)
        inventory.vgpus = [Inventories.vgpu(2, on: "mtty", type: "mtty-1")]
        inventory.definitions = [Definition(uuid: Inventories.uuid(1), parent: "mtty", type: "mtty-2", start: .auto)]
        var report = ReconcilePlanner.plan(inventory: inventory, domains: nil, config: PlacementConfig(), prune: true)
        #expect(report.orphans.isEmpty && report.actions.count == 1)
        for step in report.actions.flatMap(\.plan.steps) { inventory.apply(step) }
        report = ReconcilePlanner.plan(inventory: inventory, domains: nil, config: PlacementConfig(), prune: true)
        #expect(report.actions.isEmpty, "the second run changes nothing")
    }
}
