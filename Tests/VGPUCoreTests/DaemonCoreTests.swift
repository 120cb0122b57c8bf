import Foundation
import Testing
@testable import VGPUCore

/// vgpud's pure parts: the retry schedule, what a uevent means, the config keys, the SR-IOV policy and the metric
/// values of an inventory.
@Suite struct BackoffTests {
    @Test func theDefaultScheduleDoublesFromHalfASecondAndIsCappedAndBounded() {
        let backoff = Backoff()
        #expect(backoff.schedule == [0.5, 1, 2, 4, 8, 16, 30], "8 attempts: 7 pauses, the last capped at 30 s")
        #expect(backoff.delay(afterAttempt: 8) == nil, "no pause after the last attempt")
        #expect(backoff.delay(afterAttempt: 0) == nil)
        #expect(backoff.totalDelay == 61.5, "a parent that never becomes usable costs about a minute of attempts")
    }

    @Test func aCustomScheduleNeverExceedsItsMaximum() {
        let backoff = Backoff(initial: 1, multiplier: 3, maximum: 10, attempts: 6)
        #expect(backoff.schedule == [1, 3, 9, 10, 10])
        #expect(Backoff(attempts: 0).attempts == 1, "at least one attempt")
        #expect(Backoff(attempts: 1).schedule.isEmpty)
    }
}

@Suite struct ParentEventTests {
    static func event(_ action: String, _ subsystem: String?, _ name: String, _ properties: [String: String] = [:]) -> UdevEvent {
        UdevEvent(action: action, subsystem: subsystem, sysname: name, devpath: "/devices/x/\(name)", properties: properties)
    }

    @Test func anMdevParentRegistersWithAChangeEventOnItsOwnSubsystem() {
        // mtty's parent is in the mtty class; NVIDIA's is a pci device: the property decides, not the subsystem.
        #expect(ParentEvent.from(Self.event("change", "mtty", "mtty", ["MDEV_STATE": "registered"])) == .appeared(parent: "mtty", why: "mdev parent registered"))
        #expect(ParentEvent.from(Self.event("change", "pci", "0000:3b:00.0", ["MDEV_STATE": "registered"])) == .appeared(parent: "0000:3b:00.0", why: "mdev parent registered"))
        #expect(ParentEvent.from(Self.event("change", "mtty", "mtty", ["MDEV_STATE": "unregistered"])) == .disappeared(parent: "mtty"))
        #expect(ParentEvent.from(Self.event("add", "mtty", "mtty")) == nil, "the class device's own add precedes registration: not yet a parent")
    }

    @Test func aVendorSpecificVFIOVFAppearsAsAPCIAddAndBind() {
        #expect(ParentEvent.from(Self.event("add", "pci", "0000:17:00.4")) == .appeared(parent: "0000:17:00.4", why: "PCI device added"))
        #expect(ParentEvent.from(Self.event("bind", "pci", "0000:17:00.4", ["DRIVER": "nvidia"])) == .appeared(parent: "0000:17:00.4", why: "PCI driver nvidia bound"))
        #expect(ParentEvent.from(Self.event("remove", "pci", "0000:17:00.4")) == .disappeared(parent: "0000:17:00.4"))
        #expect(ParentEvent.from(Self.event("change", "pci", "0000:17:00.4")) == nil)
    }

    @Test func vGPUsAreMdevDevicesAndOtherEventsMeanNothing() {
        let uuid = "8f3b0d1e-0000-4000-8000-000000000001"
        #expect(ParentEvent.from(Self.event("add", "mdev", uuid)) == .vgpuChanged(uuid: uuid, action: "add"))
        #expect(ParentEvent.from(Self.event("remove", "mdev", uuid)) == .vgpuChanged(uuid: uuid, action: "remove"))
        #expect(ParentEvent.from(Self.event("add", "block", "sda")) == nil)
        #expect(ParentEvent.from(Self.event("add", "pci", "pci0000:00")) == nil, "a PCI bus is no parent")
        #expect(ParentEvent.from(Self.event("change", "mtty", "../x", ["MDEV_STATE": "registered"])) == nil, "names never leave their directory")
        #expect(ParentEvent.from(Self.event("change", "mtty", "", ["MDEV_STATE": "registered"])) == nil)
    }

    @Test(arguments: [("0000:17:00.4", true), ("0000:b3:1f.7", true), ("0000:B3:00.0", false), ("0000:17:00.8", false),
                      ("0000:17:00", false), ("mtty", false), ("00000:17:00.0", false)])
    func pciAddresses(text: String, valid: Bool) {
        #expect(ParentEvent.isPCIAddress(text) == valid)
    }
}

@Suite struct DaemonConfigTests {
    @Test func sriovNumVFsIsAPerPFKey() throws {
        let config = try HostConfig.parse("""
            [gpus."0000:65:00.0"]
            sriov_numvfs = 16
            [gpus."0000:17:00.0"]
            types = ["nvidia-1414"]
            sriov_numvfs = 8
            """, file: "f")
        #expect(config.rules["0000:17:00.0"] == GPURules(enabledTypes: ["nvidia-1414"], sriovNumVFs: 8))
        #expect(config.sriovNumVFs.map(\.pf) == ["0000:17:00.0", "0000:65:00.0"])
        #expect(config.sriovNumVFs.map(\.count) == [8, 16])
        #expect(try HostConfig.parse("", file: "f").sriovNumVFs.isEmpty)
    }

    @Test func theDaemonTableSetsIntervalAndPrune() throws {
        let config = try HostConfig.parse("[vgpud]\nreconcile_interval = 900\nprune = true\n", file: "f")
        #expect(config.daemon == DaemonSettings(reconcileInterval: 900, prune: true))
        #expect(try HostConfig.parse("", file: "f").daemon == DaemonSettings(), "nothing said: the built-in defaults")
    }

    @Test(arguments: [
        ("[gpus.\"0000:17:00.0\"]\nsriov_numvfs = 0", "f:2: sriov_numvfs = 0 in [gpus.\"0000:17:00.0\"] is out of range", "1 to 65535"),
        ("[gpus.\"0000:17:00.0\"]\nsriov_numvfs = -2", "f:2: sriov_numvfs = -2", "1 to 65535"),
        ("[gpus.\"0000:17:00.0\"]\nsriov_numvfs = 70000", "f:2: sriov_numvfs = 70000", "sriov_totalvfs"),
        ("[gpus.\"0000:17:00.0\"]\nsriov_numvfs = \"8\"", "f:2: 'sriov_numvfs' is a string, but must be an integer", "README"),
        ("[gpus.\"mtty\"]\nsriov_numvfs = 4", "f:2: sriov_numvfs is set for 'mtty', which is not a PCI address", "physical function"),
        ("[gpus.\"0000:17:00.0\"]\nsriov_vfs = 4", "f:2: unknown key 'sriov_vfs'", "sriov_numvfs"),
        ("[vgpud]\nreconcile_interval = 1", "f:2: reconcile_interval = 1 is out of range", "10 to 86400"),
        ("[vgpud]\nprune = \"yes\"", "f:2: 'prune' is a string, but must be true or false", "README"),
        ("[vgpud]\ninterval = 60", "f:2: unknown key 'interval' in [vgpud]", "reconcile_interval, prune"),
        ("[vgpud.x]", "f:1: unknown key 'x' in [vgpud]", "reconcile_interval, prune"),
        ("[daemon]", "f:1: unknown table [daemon]", "[vgpud]"),
    ])
    func mistakesAreRefusedWithFileLineAndFix(text: String, message: String, fix: String) {
        let error = #expect(throws: VGPUError.self) { try HostConfig.parse(text, file: "f") }
        #expect(error?.kind == .invalidInput)
        #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "no error")")
        #expect(error?.fix.contains(fix) == true, "\(error?.fix ?? "")")
    }

    @Test func vfsAreEnabledNeverChangedOrTornDown() {
        #expect(SRIOVPolicy.decide(pf: "p", wanted: 8, current: 0, total: 16) == .enable(8))
        #expect(SRIOVPolicy.decide(pf: "p", wanted: 8, current: 8, total: 16) == .alreadyEnabled)
        #expect(SRIOVPolicy.decide(pf: "p", wanted: 8, current: 0, total: nil) == .enable(8), "no sriov_totalvfs: the kernel decides")
        guard case .refuse(let tooMany) = SRIOVPolicy.decide(pf: "p", wanted: 32, current: 0, total: 16) else { Issue.record("not refused"); return }
        #expect(tooMany.kind == .invalidInput && tooMany.message.contains("more than the 16 VFs"))
        guard case .refuse(let other) = SRIOVPolicy.decide(pf: "p", wanted: 8, current: 4, total: 16) else { Issue.record("not refused"); return }
        #expect(other.kind == .busy && other.message.contains("already has 4 VFs"), "never through 0: that would destroy the VFs in use")
    }

    /// `apply` enables VFs only on a PF that has none: the config's count, else every VF it supports.
    @Test func applyEnablesVFsOnlyWhereThereAreNone() {
        #expect(SRIOVPolicy.enableForLayout(pf: "p", configured: nil, current: 0, total: 7) == .enable(7))
        #expect(SRIOVPolicy.enableForLayout(pf: "p", configured: 3, current: 0, total: 7) == .enable(3))
        #expect(SRIOVPolicy.enableForLayout(pf: "p", configured: 3, current: 2, total: 7) == nil, "VFs exist: the GPU wait covers their binding")
        #expect(SRIOVPolicy.enableForLayout(pf: "p", configured: nil, current: 0, total: nil) == nil, "no count known")
        #expect(SRIOVPolicy.enableForLayout(pf: "p", configured: nil, current: 0, total: 0) == nil)
        guard case .refuse(let error)? = SRIOVPolicy.enableForLayout(pf: "p", configured: 9, current: 0, total: 7) else { Issue.record("not refused"); return }
        #expect(error.kind == .invalidInput)
    }

    /// A PF's driver that unbinds takes its VFs along: when it binds again (a reload), vgpud enables them again.
    @Test func aConfiguredPFWhoseDriverBindsGetsItsVFsAgain() {
        let configured = [(pf: "0000:45:00.0", count: 3), (pf: "0000:82:00.0", count: 2)]
        let bind = UdevEvent(action: "bind", subsystem: "pci", sysname: "0000:82:00.0", devpath: "/devices/pci0000:80/0000:80:01.0/0000:82:00.0",
                             properties: ["DRIVER": "igb"])
        let again = SRIOVPolicy.reenable(on: bind, configured: configured)
        #expect(again?.pf == "0000:82:00.0" && again?.count == 2)
        var add = bind; add.action = "add"
        #expect(SRIOVPolicy.reenable(on: add, configured: configured) == nil, "added, not yet bound: no driver to enable VFs through")
        var other = bind; other.sysname = "0000:17:00.0"
        #expect(SRIOVPolicy.reenable(on: other, configured: configured) == nil, "a PF the config does not name")
        var vf = bind; vf.sysname = "0000:82:10.0"; vf.properties = ["DRIVER": "nvlab"]
        #expect(SRIOVPolicy.reenable(on: vf, configured: configured) == nil, "a VF binding is a parent appearing, not a PF")
        var mdev = bind; mdev.subsystem = "mdev"
        #expect(SRIOVPolicy.reenable(on: mdev, configured: configured) == nil)
    }
}

@Suite struct InventoryMetricsTests {
    static func fixture() -> Inventory {
        var inventory = Inventories.samples
        inventory.parents[1].types[1].availableInstances = 10  // mtty-2 with two created
        inventory.parents[1].types[0].availableInstances = 20
        inventory.vgpus = [
            attached(Inventories.uuid(1), to: "web01"),
            VGPU(uuid: Inventories.uuid(2), parent: "mtty", type: "mtty-2", layout: .mdev),
        ]
        inventory.definitions = [
            Definition(uuid: Inventories.uuid(1), parent: "mtty", type: "mtty-2", start: .auto),
            Definition(uuid: Inventories.uuid(3), parent: "mdpy", type: "mdpy-vga", start: .auto),
            Definition(uuid: Inventories.uuid(4), parent: "mdpy", type: "mdpy-vga", start: .manual),
        ]
        return inventory
    }

    /// An mtty-2 vGPU that `domain` uses, read from `list --json` output carrying both `domain` and `domains`, so the
    /// fixture is the same whichever of the two shapes VGPU has (one domain, or the list of domains).
    static func attached(_ uuid: DeviceUUID, to domain: String) -> VGPU {
        let json = #"{"uuid": "\#(uuid)", "parent": "mtty", "type": "mtty-2", "layout": "mdev", "domain": "\#(domain)", "domains": ["\#(domain)"]}"#
        return try! JSONDecoder().decode(VGPU.self, from: Data(json.utf8))
    }

    static func value(_ samples: [MetricSample], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    @Test func typesFreeInstancesAndVGPUsPerParentAndGPU() {
        let samples = InventoryMetrics.samples(Self.fixture(), domainsKnown: true)
        #expect(Self.value(samples, "vgpu_parent_types", ["gpu": "mtty", "parent": "mtty"]) == 2)
        #expect(Self.value(samples, "vgpu_free_instances", ["gpu": "mtty", "parent": "mtty", "type": "mtty-2"]) == 10)
        #expect(Self.value(samples, "vgpu_free_instances", ["gpu": "mdpy", "parent": "mdpy", "type": "mdpy-vga"]) == 4)
        #expect(Self.value(samples, "vgpu_vgpus", ["gpu": "mtty", "parent": "mtty", "type": "mtty-2"]) == 2)
        #expect(Self.value(samples, "vgpu_gpu_vgpus", ["gpu": "mtty"]) == 2)
        #expect(Self.value(samples, "vgpu_gpu_vgpus", ["gpu": "mdpy"]) == 0, "an idle GPU says 0, not nothing")
        #expect(Self.value(samples, "vgpu_domain_vgpus", ["domain": "web01"]) == 1, "the unattached one counts for no domain")
        #expect(samples.filter { $0.name == "vgpu_domain_vgpus" }.count == 1)
        #expect(Self.value(samples, "vgpu_definitions", ["start": "auto", "running": "true"]) == 1)
        #expect(Self.value(samples, "vgpu_definitions", ["start": "auto", "running": "false"]) == 1)
        #expect(Self.value(samples, "vgpu_definitions", ["start": "manual", "running": "false"]) == 1)
        #expect(Self.value(samples, "vgpu_libvirt_reachable") == 1)
        #expect(Set(samples.map(\.name)).isSubset(of: Set(InventoryMetrics.help.keys)), "every metric has its help text")
    }

    @Test func withoutLibvirtThereIsNoPerDomainSample() {
        let samples = InventoryMetrics.samples(Self.fixture(), domainsKnown: false)
        #expect(!samples.contains { $0.name == "vgpu_domain_vgpus" })
        #expect(Self.value(samples, "vgpu_libvirt_reachable") == 0)
    }

    @Test func vGPUsOfAnSRIOVGPUAddUpOnTheirPF() {
        let inventory = Inventories.sriov(gpus: 2, vfs: 4, vgpus: [
            Inventories.vgpu(1, on: "0000:10:00.4", type: "nvidia-500"), Inventories.vgpu(2, on: "0000:10:00.5", type: "nvidia-500"),
        ])
        let samples = InventoryMetrics.samples(inventory, domainsKnown: false)
        #expect(Self.value(samples, "vgpu_gpu_vgpus", ["gpu": "0000:10:00.0"]) == 2)
        #expect(Self.value(samples, "vgpu_gpu_vgpus", ["gpu": "0000:11:00.0"]) == 0)
        #expect(Self.value(samples, "vgpu_free_instances", ["gpu": "0000:10:00.0", "parent": "0000:10:00.4", "type": "nvidia-500"]) == 0)
    }

    @Test func hookStatsFile() {
        #expect(HookStats.parse("invocations 12\nlatency_ms_sum 30.5\n") == HookStats(invocations: 12, latencyMillisecondsSum: 30.5))
        #expect(HookStats.parse("invocations 3\nfuture_key 1\n") == HookStats(invocations: 3, latencyMillisecondsSum: 0), "unknown lines are ignored")
        #expect(HookStats.parse("") == nil)
        #expect(HookStats.parse("invocations many\nlatency_ms_sum -1\n") == nil, "nonsense is no value")
        #expect(HookStats(invocations: 2, latencyMillisecondsSum: 7).samples.map(\.description) == ["vgpu_hook_invocations 2.0", "vgpu_hook_latency_ms_sum 7.0"])
    }
}
