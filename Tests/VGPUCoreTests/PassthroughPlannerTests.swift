import Testing
@testable import VGPUCore

/// The passthrough planner's decisions on host values (the command that runs the plan is not written yet).
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
}
