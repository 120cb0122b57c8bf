import Testing
@testable import VGPUCore

/// The passthrough planner's decisions on host values: the plan's steps, giving back, and the hook's rule.
@Suite struct PassthroughPlannerTests {
    typealias V = PassthroughViabilityTests

    static let lab = PCIHost(devices: [
        V.display("0000:00:01.0", group: 1, bootVGA: true),
        V.display("0000:41:00.0", group: 15),
        V.display("0000:42:00.0", group: 16), V.audio("0000:42:00.1", group: 16, driver: nil),
        V.bridge("0000:43:00.0", group: 17), V.display("0000:44:01.0", group: 17), V.display("0000:44:02.0", group: 17),
    ], iommuEnabled: true)

    func refusal(_ request: PassthroughRequest, host: PCIHost = lab, namedBy: [String: [String]] = [:]) -> VGPUError? {
        #expect(throws: VGPUError.self) { try PassthroughPlanner.plan(request, host: host, namedBy: namedBy) }
    }

    @Test func aGPUAloneGoesWithItsOriginalDriverRecorded() throws {
        let plan = try PassthroughPlanner.plan(PassthroughRequest(address: "0000:41:00.0", domain: "vm1"), host: Self.lab)
        #expect(plan == PassthroughPlan(domain: "vm1", functions: [PassthroughFunction(address: "0000:41:00.0", originalDriver: "bochs-drm")]))
    }

    @Test func allFunctionsOfTheCardGoTogetherWhicheverIsNamed() throws {
        for address in ["0000:42:00.0", "0000:42:00.1"] {
            let plan = try PassthroughPlanner.plan(PassthroughRequest(address: address, domain: "vm1"), host: Self.lab)
            #expect(plan.functions == [PassthroughFunction(address: "0000:42:00.0", originalDriver: "bochs-drm"),
                                       PassthroughFunction(address: "0000:42:00.1", originalDriver: nil)])
        }
    }

    @Test func theSharedGroupIsBusyNamingTheOtherEndpoint() {
        let error = refusal(PassthroughRequest(address: "0000:44:01.0", domain: "vm1"))
        #expect(error?.kind == .busy && error?.exitCode == 5)
        #expect(error?.message.contains("0000:44:02.0, which the host driver bochs-drm holds") == true)
    }

    @Test func theBootVGADeviceNeedsTheExplicitAllowance() throws {
        let error = refusal(PassthroughRequest(address: "0000:00:01.0", domain: "vm1"))
        #expect(error?.kind == .invalidInput && error?.fix.contains("pass it through anyway") == true)
        let plan = try PassthroughPlanner.plan(PassthroughRequest(address: "0000:00:01.0", domain: "vm1", allowBootVGA: true), host: Self.lab)
        #expect(plan.functions.map(\.address) == ["0000:00:01.0"])
    }

    @Test func iommuOffIsAHostErrorNamingTheParameter() {
        var host = Self.lab
        host.iommuEnabled = false
        host.cpuVendor = .intel
        let error = refusal(PassthroughRequest(address: "0000:41:00.0", domain: "vm1"), host: host)
        #expect(error?.kind == .host && error?.fix.contains("intel_iommu=on") == true)
    }

    @Test func aDeviceAnotherDomainNamesIsBusy() throws {
        let error = refusal(PassthroughRequest(address: "0000:42:00.0", domain: "vm1"), namedBy: ["0000:42:00.1": ["vm2"]])
        #expect(error?.kind == .busy && error?.message == "0000:42:00.1 is already given to domain vm2")
        // The same domain naming it is no conflict (a repeated request).
        _ = try PassthroughPlanner.plan(PassthroughRequest(address: "0000:42:00.0", domain: "vm1"), host: Self.lab, namedBy: ["0000:42:00.0": ["vm1"]])
    }

    @Test func unknownAddressesAndNonGPUsAreRefused() {
        #expect(refusal(PassthroughRequest(address: "0000:99:00.0", domain: "vm1"))?.kind == .notFound)
        let error = refusal(PassthroughRequest(address: "0000:43:00.0", domain: "vm1"))
        #expect(error?.kind == .invalidInput && error?.message.contains("is not a GPU (class 0x060400)") == true)
    }

    @Test func aFunctionAlreadyOnVFIONeedsNoBinding() throws {
        var host = Self.lab
        host.devices = host.devices.map { var d = $0; if d.address == "0000:41:00.0" { d.driver = "vfio-pci" }; return d }
        let plan = try PassthroughPlanner.plan(PassthroughRequest(address: "0000:41:00.0", domain: "vm1"), host: host)
        #expect(plan.functions.map(\.needsBinding) == [false])
    }

    static func xml(_ address: String) -> String { "<hostdev a='\(address)'/>" }

    @Test func everyFunctionIsBoundBeforeAnyIsAttachedDefinitionFirst() throws {
        let plan = try PassthroughPlanner.plan(PassthroughRequest(address: "0000:42:00.1", domain: "vm1"), host: Self.lab).steps(scope: .both, hostdev: Self.xml)
        let card = PassthroughRecord(address: "0000:42:00.0", driver: "bochs-drm", domain: "vm1")
        let audio = PassthroughRecord(address: "0000:42:00.1", driver: nil, domain: "vm1")
        #expect(plan.recovery == .rollBack)
        #expect(plan.steps == [
            .bindVFIO(card), .bindVFIO(audio),
            .attachPCI(domain: "vm1", address: card.address, xml: Self.xml(card.address), scope: .config),
            .attachPCI(domain: "vm1", address: card.address, xml: Self.xml(card.address), scope: .live),
            .attachPCI(domain: "vm1", address: audio.address, xml: Self.xml(audio.address), scope: .config),
            .attachPCI(domain: "vm1", address: audio.address, xml: Self.xml(audio.address), scope: .live),
        ])
        #expect(plan.steps[0].inverse == .restoreDriver(card))
        // --live alone: a domain-lifetime passthrough.
        let live = try PassthroughPlanner.plan(PassthroughRequest(address: "0000:41:00.0", domain: "vm1"), host: Self.lab).steps(scope: .live, hostdev: Self.xml)
        #expect(live.steps.first == .bindVFIO(PassthroughRecord(address: "0000:41:00.0", driver: "bochs-drm", domain: "vm1", lifetime: .domain)))
    }

    @Test func aRecordedFunctionKeepsItsFirstDriverAndBelongsToItsDomain() throws {
        var host = Self.lab
        host.devices = host.devices.map { var d = $0; if d.address == "0000:41:00.0" { d.driver = "vfio-pci" }; return d }
        let records = [PassthroughRecord(address: "0000:41:00.0", driver: "bochs-drm", domain: "vm1")]
        let again = try PassthroughPlanner.plan(PassthroughRequest(address: "0000:41:00.0", domain: "vm1"), host: host, records: records)
        #expect(again.functions == [PassthroughFunction(address: "0000:41:00.0", originalDriver: "bochs-drm")])
        let other = #expect(throws: VGPUError.self) {
            try PassthroughPlanner.plan(PassthroughRequest(address: "0000:41:00.0", domain: "vm2"), host: host, records: records)
        }
        #expect(other?.kind == .busy && other?.fix == "give it back first: vgpuctl detach 0000:41:00.0 --vm vm1")
        #expect(throws: VGPUError.self) {
            try PassthroughPlanner.plan(PassthroughRequest(address: "0000:41:00.0", domain: "vm1"), host: Self.lab, vfioLoaded: false)
        }
    }

    @Test func givingBackDetachesLiveThenConfigThenRestoresTheWholeCard() throws {
        let records = [PassthroughRecord(address: "0000:41:00.0", driver: "bochs-drm", domain: "vm1"),
                       PassthroughRecord(address: "0000:42:00.0", driver: "bochs-drm", domain: "vm1"),
                       PassthroughRecord(address: "0000:42:00.1", driver: nil, domain: "vm1"),
                       PassthroughRecord(address: "0000:81:00.0", driver: "bochs-drm", domain: "vm2")]
        let plan = try PassthroughPlanner.giveBack(domain: "vm1", records: records, only: ["0000:42:00.1"],
                                                   inConfig: ["0000:42:00.0", "0000:42:00.1"], inLive: ["0000:42:00.0"], hostdev: Self.xml)
        #expect(plan.recovery == .rollForward)
        #expect(plan.steps == [
            .detachPCI(domain: "vm1", address: "0000:42:00.0", xml: Self.xml("0000:42:00.0"), scope: .live),
            .detachPCI(domain: "vm1", address: "0000:42:00.0", xml: Self.xml("0000:42:00.0"), scope: .config),
            .detachPCI(domain: "vm1", address: "0000:42:00.1", xml: Self.xml("0000:42:00.1"), scope: .config),
            .restoreDriver(records[1]), .restoreDriver(records[2]),
        ])
        // destroy --vm: everything of the domain, nothing of another's.
        let all = try PassthroughPlanner.giveBack(domain: "vm1", records: records, inConfig: [], inLive: [], hostdev: Self.xml)
        #expect(all.steps == records.prefix(3).map { .restoreDriver($0) })
        #expect(throws: VGPUError.self) {
            try PassthroughPlanner.giveBack(domain: "vm1", records: records, only: ["0000:81:00.0"], inConfig: [], inLive: [], hostdev: Self.xml)
        }
    }

    @Test func theHookGivesBackOnlyDomainLifetimePassthroughs() {
        let records = [PassthroughRecord(address: "0000:41:00.0", driver: "bochs-drm", domain: "vm1", lifetime: .domain),
                       PassthroughRecord(address: "0000:42:00.0", driver: "bochs-drm", domain: "vm1", lifetime: .persistent),
                       PassthroughRecord(address: "0000:81:00.0", driver: "bochs-drm", domain: "vm2", lifetime: .domain)]
        #expect(PassthroughPlanner.releaseAtDomainEnd(domain: "vm1", records: records).steps == [.restoreDriver(records[0])])
    }

    @Test func recordFilesRoundTrip() {
        for record in [PassthroughRecord(address: "0000:41:00.0", driver: "bochs-drm", domain: "web 01"),
                       PassthroughRecord(address: "0000:42:00.1", driver: nil, domain: "vm1", lifetime: .domain)] {
            #expect(PassthroughRecord(address: record.address, text: record.text) == record)
        }
        #expect(PassthroughRecord(address: "x", text: "garbage") == nil)
    }

    @Test func reconcileGivesBackWhatNoDomainNamesOnlyWithPruneAndReportsARebind() throws {
        let hostdev = "<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x41' slot='0x00' function='0x0'/></source></hostdev>"
        let vm1 = try DomainDocument(xml: "<domain><name>vm1</name><devices>\(hostdev)</devices></domain>", what: "test")
        let vm2 = try DomainDocument(xml: "<domain><name>vm2</name><devices/></domain>", what: "test")
        let domains = [ReconcilePlanner.Domain(name: "vm1", isActive: false, autostart: false, definition: vm1),
                       ReconcilePlanner.Domain(name: "vm2", isActive: false, autostart: false, definition: vm2)]
        let records = [PassthroughRecord(address: "0000:41:00.0", driver: "bochs-drm", domain: "vm1"),
                       PassthroughRecord(address: "0000:42:00.0", driver: "bochs-drm", domain: "vm2"),
                       PassthroughRecord(address: "0000:81:00.0", driver: "bochs-drm", domain: "gone")]
        let onVFIO = PassthroughPlanner.reconcile(records: records, domains: domains, driver: { _ in "vfio-pci" }, prune: false)
        #expect(onVFIO.actions.isEmpty)
        #expect(onVFIO.problems.count == 2 && onVFIO.problems[0].contains("domain vm2 no longer names it") && onVFIO.problems[1].contains("domain gone is gone"))
        let pruned = PassthroughPlanner.reconcile(records: records, domains: domains, driver: { _ in "vfio-pci" }, prune: true)
        #expect(pruned.actions.map(\.plan.steps) == [[.restoreDriver(records[1])], [.restoreDriver(records[2])]] && pruned.problems.isEmpty)
        // Off vfio-pci: a persistent passthrough after a reboot (the hook binds it again at the domain's start) is
        // no problem; a live-only one rebound by hand is.
        let rebooted = PassthroughPlanner.reconcile(records: Array(records.prefix(1)), domains: domains, driver: { _ in "bochs-drm" }, prune: true)
        #expect(rebooted.actions.isEmpty && rebooted.problems.isEmpty)
        var live = records[0]
        live.lifetime = .domain
        let rebound = PassthroughPlanner.reconcile(records: [live], domains: domains, driver: { _ in "bochs-drm" }, prune: true)
        #expect(rebound.actions.isEmpty && rebound.problems.first?.contains("bound to bochs-drm, not vfio-pci") == true)
    }
}
