import Foundation
import Testing
import VGPUApp
import VGPUCore
import VGPUFixtures
import VGPUHost

/// Whole-GPU passthrough on the lab machine's fixture tree, with the kernel's driver core played by
/// SimulatedKernel (driver_override, unbind, drivers_probe) and libvirt by FileHypervisor: each refusal as the
/// planner gives it from sysfs (messages in Expected/passthrough/), the multi-function card bound and given back,
/// a failure at every OS call undone, and a crash at every OS call recovered to the original drivers.
@Suite struct PassthroughOnFixtureTests {
    static let alone = "0000:41:00.0", card = "0000:42:00.0", audio = "0000:42:00.1"

    func makeHost(iommu: Bool = true, cpuVendor: String? = "GenuineIntel") throws -> (TestHost, FileHypervisor) {
        let host = try TestHost { try FixtureHosts.pciLab(at: $0, iommu: iommu, cpuVendor: cpuVendor) }
        return (host, try FileHypervisor(directory: host.root + "/libvirt", os: LiveSystemCalls(), domains: ["vm1": false, "vm2": true]))
    }

    func pciHost(_ host: TestHost) throws -> PCIHost { try PCIDeviceReader(paths: host.paths, os: LiveSystemCalls()).host() }
    func binding(_ host: TestHost, _ os: SystemCalls = LiveSystemCalls()) -> PCIDriverBinding { PCIDriverBinding(paths: host.paths, os: os) }
    func driver(_ host: TestHost, _ address: String) -> String? { binding(host).driver(of: address) }

    func passthroughPlan(_ host: TestHost, _ address: String, domain: String = "vm1", scope: AttachScope = .config,
                         namedBy: [String: [String]] = [:]) throws -> Plan {
        let records = binding(host).records.all()
        return try PassthroughPlanner.plan(PassthroughRequest(address: address, domain: domain), host: pciHost(host), namedBy: namedBy,
                                           records: records, vfioLoaded: binding(host).vfioLoaded)
            .steps(scope: scope) { try TemplateStore.load().hostdev(pciAddress: $0) }
    }

    func giveBackPlan(_ host: TestHost, _ libvirt: FileHypervisor, domain: String = "vm1", only: [String]? = nil) throws -> Plan {
        let pci = { (inactive: Bool) throws -> Set<String> in
            Set(try DomainDocument(xml: libvirt.xml(of: domain, inactive: inactive), what: "test").sources.compactMap {
                if case let .pci(address) = $0 { address } else { nil }
            })
        }
        let active = try libvirt.domain(domain).isActive
        return try PassthroughPlanner.giveBack(domain: domain, records: binding(host).records.all(), only: only, inConfig: pci(true),
                                               inLive: active ? pci(false) : []) { try TemplateStore.load().hostdev(pciAddress: $0) }
    }

    /// `libvirtOS`: the OS the libvirt stand-in writes through (default: `os`). A real libvirt change is atomic
    /// to vgpuctl, so a test of failures at vgpuctl's own calls gives the stand-in a healthy one.
    func execute(_ plan: Plan, _ host: TestHost, _ libvirt: FileHypervisor, os: SystemCalls? = nil, libvirtOS: SystemCalls? = nil) throws {
        let os = os ?? SimulatedKernel(tree: host.tree)
        try Executor(runner: host.runner(os, hypervisor: FileHypervisor(libvirt, os: libvirtOS ?? os)), journal: host.journal(os)).execute(plan)
    }

    func refusal(_ body: () throws -> Plan) -> String {
        do {
            _ = try body()
            return "no refusal"
        } catch let error as VGPUError {
            return "exit \(error.exitCode): \(error.message)\n  fix: \(error.fix)"
        } catch { return "\(error)" }
    }

    @Test func everyRefusalNamesItsFixAndChangesNothing() throws {
        let (host, _) = try makeHost()
        let before = host.snapshot()
        var lines: [String] = []
        lines.append("shared group: " + refusal { try passthroughPlan(host, "0000:44:01.0") })
        lines.append("boot VGA: " + refusal { try passthroughPlan(host, "0000:00:01.0") })
        lines.append("named by another domain: " + refusal { try passthroughPlan(host, Self.audio, namedBy: [Self.audio: ["vm2"]]) })
        lines.append("a bridge: " + refusal { try passthroughPlan(host, "0000:43:00.0") })
        lines.append("no such device: " + refusal { try passthroughPlan(host, "0000:99:00.0") })
        #expect(changes(before, host.snapshot()) == [], "refusals are decided before anything is written")

        let (off, _) = try makeHost(iommu: false)
        lines.append("IOMMU off (Intel): " + refusal { try passthroughPlan(off, Self.alone) })
        let (amd, _) = try makeHost(iommu: false, cpuVendor: "AuthenticAMD")
        lines.append("IOMMU off (AMD): " + refusal { try passthroughPlan(amd, Self.alone) })

        // A vGPU on it: an mdev parent with one device.
        let (mdev, _) = try makeHost()
        let directory = "devices/pci0000:40/0000:40:00.0/\(Self.alone)"
        try FileManager.default.createDirectory(atPath: mdev.tree.path("\(directory)/mdev_supported_types"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: mdev.tree.path("\(directory)/0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50"), withIntermediateDirectories: true)
        lines.append("a vGPU on it: " + refusal { try passthroughPlan(mdev, Self.alone) })

        let (unloaded, _) = try makeHost()
        try FileManager.default.removeItem(atPath: unloaded.tree.path("bus/pci/drivers/vfio-pci"))
        lines.append("vfio-pci not loaded: " + refusal { try passthroughPlan(unloaded, Self.alone) })

        // Passed through to vm1 by vgpuctl: vm2 may not have it, and cannot take it back for itself.
        let (given, givenLibvirt) = try makeHost()
        try execute(passthroughPlan(given, Self.alone), given, givenLibvirt)
        lines.append("passed through to another domain: " + refusal { try passthroughPlan(given, Self.alone, domain: "vm2") })
        lines.append("given back from the wrong domain: " + refusal { try giveBackPlan(given, givenLibvirt, domain: "vm2", only: [Self.alone]) })
        lines.append("given back, never passed through: " + refusal { try giveBackPlan(given, givenLibvirt, only: [Self.card]) })
        expectOutput(lines.joined(separator: "\n") + "\n", file: "passthrough/refusals.txt")
    }

    @Test func theMultiFunctionCardGoesWholeAndComesBack() throws {
        let (host, libvirt) = try makeHost()
        let before = host.snapshot()
        // Named by its audio function: the whole slot goes, in address order.
        let plan = try passthroughPlan(host, Self.audio)
        try execute(plan, host, libvirt)
        #expect(driver(host, Self.card) == "vfio-pci" && driver(host, Self.audio) == "vfio-pci")
        #expect(binding(host).records.all() == [PassthroughRecord(address: Self.card, driver: "bochs-drm", domain: "vm1"),
                                                  PassthroughRecord(address: Self.audio, driver: nil, domain: "vm1")])
        let config = try DomainDocument(xml: libvirt.xml(of: "vm1", inactive: true), what: "test")
        #expect(config.sources == [.pci(Self.card), .pci(Self.audio)])

        // detach names one function: both go back, each to its own (the audio function to none).
        let giveBack = try giveBackPlan(host, libvirt, only: [Self.card])
        try execute(giveBack, host, libvirt)
        #expect(driver(host, Self.card) == "bochs-drm" && driver(host, Self.audio) == nil)
        #expect(changes(before, host.snapshot()) == [], "given back, the host is as it was (overrides cleared, records gone)")
        expectOutput(([plan, giveBack].flatMap { [$0.operation + " (\($0.recovery.rawValue))"] + $0.steps.map { "  " + $0.summary } })
            .joined(separator: "\n") + "\n", file: "passthrough/plans.txt")
    }

    @Test func aLiveOnlyPassthroughLastsForTheRunAndTheHookGivesItBack() throws {
        let (host, libvirt) = try makeHost()
        let plan = try passthroughPlan(host, Self.alone, domain: "vm2", scope: .live)
        #expect(plan.steps.map(\.summary).last == "attach PCI device \(Self.alone) to domain vm2 (live)")
        try execute(plan, host, libvirt)
        #expect(binding(host).records.all().map(\.lifetime) == [.domain])
        // At release end libvirt has dropped the live hostdev with its QEMU; the hook gives the device back.
        let release = PassthroughPlanner.releaseAtDomainEnd(domain: "vm2", records: binding(host).records.all())
        #expect(PassthroughPlanner.releaseAtDomainEnd(domain: "vm1", records: binding(host).records.all()).steps.isEmpty)
        try execute(release, host, libvirt)
        #expect(driver(host, Self.alone) == "bochs-drm" && binding(host).records.all().isEmpty)
    }

    @Test func aProcessHoldingTheGroupKeepsTheDevice() throws {
        let (host, libvirt) = try makeHost()
        try execute(passthroughPlan(host, Self.alone), host, libvirt)
        // A fake /proc: process 4242 holds /dev/vfio/15 (the device's group).
        try FileManager.default.createDirectory(atPath: host.root + "/proc/4242/fd", withIntermediateDirectories: true)
        try "qemu-system-x86\n".write(toFile: host.root + "/proc/4242/comm", atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: host.root + "/proc/4242/fd/9", withDestinationPath: "/dev/vfio/15")
        let error = #expect(throws: VGPUError.self) { try execute(giveBackPlan(host, libvirt), host, libvirt) }
        #expect(error?.exitCode == 5 && error?.message.contains("process 4242 (qemu-system-x86) holds /dev/vfio/15") == true)
        #expect(driver(host, Self.alone) == "vfio-pci", "kept on vfio-pci, and attached again by the rollback")
        #expect(try DomainDocument(xml: libvirt.xml(of: "vm1", inactive: true), what: "test").sources == [.pci(Self.alone)])
    }

    @Test func aFailureAtEveryOSCallIsUndone() throws {
        let (probe, probeLibvirt) = try makeHost()
        let counter = FaultInjectingOS(SimulatedKernel(tree: probe.tree))
        try execute(passthroughPlan(probe, Self.audio, domain: "vm2", scope: .both), probe, probeLibvirt, os: counter, libvirtOS: LiveSystemCalls())
        #expect(counter.countedCalls > 10)
        for failAt in 1...counter.countedCalls {
            let (host, libvirt) = try makeHost()
            let before = host.snapshot()
            let plan = try passthroughPlan(host, Self.audio, domain: "vm2", scope: .both)
            let failing = FaultInjectingOS(SimulatedKernel(tree: host.tree), failAt: failAt)
            #expect(throws: (any Error).self, "call \(failAt)") { try execute(plan, host, libvirt, os: failing, libvirtOS: LiveSystemCalls()) }
            #expect(changes(before, host.snapshot()) == [], "a failure at call \(failAt) of \(counter.countedCalls) (\(failing.calls.last?.description ?? "")) is undone")
        }
    }

    @Test func aCrashAtEveryOSCallIsRecoveredToTheOriginalDrivers() throws {
        let (probe, probeLibvirt) = try makeHost()
        let counter = FaultInjectingOS(SimulatedKernel(tree: probe.tree))
        try execute(passthroughPlan(probe, Self.audio), probe, probeLibvirt, os: counter)
        let complete = probe.snapshot()
        var undone = 0
        for crashAt in 1...counter.countedCalls {
            let (host, libvirt) = try makeHost()
            let before = host.snapshot()
            let plan = try passthroughPlan(host, Self.audio)
            let dying = FaultInjectingOS(SimulatedKernel(tree: host.tree), failAt: crashAt, mode: .dead)
            #expect(throws: (any Error).self) { try execute(plan, host, libvirt, os: dying) }
            let healthy = SimulatedKernel(tree: host.tree)
            _ = try Recovery(journal: host.journal(healthy), runner: host.runner(healthy, hypervisor: FileHypervisor(libvirt, os: healthy))).run()
            let after = host.snapshot()
            #expect(changes(before, after) == [] || changes(complete, after) == [], "crash at call \(crashAt) of \(counter.countedCalls) (\(dying.calls.last?.description ?? "")): \(changes(before, after))")
            if changes(before, after) == [] { undone += 1 }
        }
        #expect(undone >= counter.countedCalls - 1, "only a crash at the very last call leaves the passthrough complete")
    }

    @Test func destroyAfterACrashedGiveBackIsFinishedByRecovery() throws {
        let (probe, probeLibvirt) = try makeHost()
        let before = probe.snapshot()
        try execute(passthroughPlan(probe, Self.card), probe, probeLibvirt)
        let counter = FaultInjectingOS(SimulatedKernel(tree: probe.tree))
        try execute(giveBackPlan(probe, probeLibvirt), probe, probeLibvirt, os: counter)
        #expect(changes(before, probe.snapshot()) == [])
        for crashAt in 1...counter.countedCalls {
            let (host, libvirt) = try makeHost()
            let start = host.snapshot()
            try execute(passthroughPlan(host, Self.card), host, libvirt)
            let passed = host.snapshot()
            let dying = FaultInjectingOS(SimulatedKernel(tree: host.tree), failAt: crashAt, mode: .dead)
            let plan = try giveBackPlan(host, libvirt)
            #expect(throws: (any Error).self) { try execute(plan, host, libvirt, os: dying) }
            let healthy = SimulatedKernel(tree: host.tree)
            _ = try Recovery(journal: host.journal(healthy), runner: host.runner(healthy, hypervisor: FileHypervisor(libvirt, os: healthy))).run()
            let after = host.snapshot()
            // Dying before its journal record was written, the give-back had not begun: still passed through.
            #expect(changes(start, after) == [] || (crashAt <= 2 && changes(passed, after) == []),
                    "a give-back that died at call \(crashAt) is finished: every driver back")
        }
    }

    /// What a reboot does to a passthrough: every function back on its own driver, overrides cleared, /run empty;
    /// /var/lib (where a persistent passthrough's records are) is kept.
    func reboot(_ host: TestHost) throws {
        let kernel = SimulatedKernel(tree: host.tree)
        for address in [Self.alone, Self.card, Self.audio] {
            try kernel.write(host.tree.path("bus/pci/devices/\(address)/driver_override"), "\n")
            if let driver = driver(host, address) { try kernel.write(host.tree.path("bus/pci/drivers/\(driver)/unbind"), address) }
            try? kernel.write(host.tree.path("bus/pci/drivers_probe"), address)
        }
        try? FileManager.default.removeItem(atPath: host.root + "/run/vgpuctl")
    }

    func prepare(_ host: TestHost, xml: String, os: SystemCalls? = nil) throws -> [String] {
        let environment = Environment(paths: host.paths, os: os ?? SimulatedKernel(tree: host.tree))
        return try Application(environment: environment, command: "test").run(LibvirtHook(.prepare, domainXML: xml, wait: 0, started: 0)).actions
    }

    /// A persistent passthrough outlives a reboot: its records are in /var/lib, and the hook binds the card's
    /// functions to vfio-pci again at the domain's `prepare begin`, after the passthrough's own checks.
    @Test func theHookBindsAPersistentPassthroughAgainAfterAReboot() throws {
        let (host, libvirt) = try makeHost()
        try execute(passthroughPlan(host, Self.card), host, libvirt)
        let records = binding(host).records.all()
        #expect(host.contents("var/lib/vgpuctl/passthrough/\(Self.card)") == "domain vm1\ndriver bochs-drm\nlifetime persistent\n")
        let xml = try libvirt.xml(of: "vm1", inactive: true)
        #expect(try prepare(host, xml: xml) == [], "on vfio-pci already: nothing to do")

        try reboot(host)
        #expect(driver(host, Self.card) == "bochs-drm" && binding(host).records.all() == records)
        #expect(try prepare(host, xml: xml.replacingOccurrences(of: "<hostdev", with: "<nohostdev").replacingOccurrences(of: "</hostdev", with: "</nohostdev")) == [],
                "a definition that no longer names the card does not take it")
        #expect(try prepare(host, xml: xml) == ["domain vm1: bind \(Self.card) to vfio-pci (from bochs-drm) for domain vm1",
                                                "domain vm1: bind \(Self.audio) to vfio-pci (from no driver) for domain vm1"])
        #expect(driver(host, Self.card) == "vfio-pci" && driver(host, Self.audio) == "vfio-pci")
        #expect(binding(host).records.all() == records, "the records are as the passthrough wrote them")

        // Refused, naming the fix, with nothing changed: vfio-pci is not loaded after this reboot.
        try reboot(host)
        try FileManager.default.removeItem(atPath: host.tree.path("bus/pci/drivers/vfio-pci"))
        let before = host.snapshot()
        let error = #expect(throws: VGPUError.self) { try prepare(host, xml: xml) }
        #expect(error?.message.hasPrefix("domain vm1 cannot start: its passed-through GPU must go back to vfio-pci, and the vfio-pci driver is not loaded") == true)
        #expect(error?.fix.hasPrefix("modprobe vfio-pci") == true)
        #expect(changes(before, host.snapshot()).filter { !$0.hasPrefix("run/vgpuctl/") } == [], "only the lock and the hook's statistics")
    }

    /// After a failure at any OS call of the hook's rebinding, the next start binds it all with the drivers first
    /// recorded: a rollback drops the records of the functions it gives back, and the failed function's record
    /// brings the whole card back.
    @Test func aFailedRebindAtDomainStartIsDoneByTheNextStart() throws {
        let (probe, probeLibvirt) = try makeHost()
        try execute(passthroughPlan(probe, Self.card), probe, probeLibvirt)
        let records = binding(probe).records.all()
        let xml = try probeLibvirt.xml(of: "vm1", inactive: true)
        try reboot(probe)
        let counter = FaultInjectingOS(SimulatedKernel(tree: probe.tree))
        _ = try prepare(probe, xml: xml, os: counter)
        #expect(counter.countedCalls > 10)
        for failAt in 1...counter.countedCalls {
            let (host, libvirt) = try makeHost()
            try execute(passthroughPlan(host, Self.card), host, libvirt)
            try reboot(host)
            let failing = FaultInjectingOS(SimulatedKernel(tree: host.tree), failAt: failAt)
            // A failed write of the lock holder or of the hook's statistics does not stop the start.
            _ = try? prepare(host, xml: xml, os: failing)
            _ = try prepare(host, xml: xml)
            #expect(driver(host, Self.card) == "vfio-pci" && driver(host, Self.audio) == "vfio-pci", "failure at call \(failAt)")
            #expect(binding(host).records.all() == records, "failure at call \(failAt) (\(failing.calls.last?.description ?? ""))")
        }
    }

}
