import Testing
@testable import VGPUCore

/// "In use" is what the kernel says (issue 21): the hook's planners take which vGPUs a process holds open,
/// alongside the status files' `running`, and never remove or reuse a held one.
@Suite struct HeldDeviceTests {
    static let qemu = DeviceHolder(pid: 4242, command: "qemu-system-x86", file: "/dev/vfio/17")

    static func domain(_ name: String, devices: [DeviceUUID], requests: [VGPURequest]) throws -> DomainDocument {
        try HookAndReconcileTests.domain(name, devices: devices, requests: requests)
    }

    @Test func prepareRefusesAVGPUAnotherProcessHoldsNamingIt() throws {
        var inventory = Inventories.samples
        let vgpu = Inventories.vgpu(1, on: "mtty", type: "mtty-2")
        inventory.vgpus = [vgpu]
        let ghost = try Self.domain("ghost", devices: [vgpu.uuid], requests: [VGPURequest(uuid: vgpu.uuid, type: "mtty-2", lifetime: .domain)])
        let error = #expect(throws: VGPUError.self) {
            try HookPlanner.prepare(ghost, inventory: inventory, running: [:], held: [vgpu.uuid: [Self.qemu]], config: PlacementConfig())
        }
        #expect(error?.kind == .busy)
        #expect(error?.exitCode == 5)
        #expect(error?.message.contains("domain ghost names vGPU \(vgpu.uuid)") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("process 4242 (qemu-system-x86) holds /dev/vfio/17") == true, "\(error?.message ?? "")")
        #expect(error?.fix.contains("stop process 4242") == true, "\(error?.fix ?? "")")
        // Unheld, the same vGPU is kept as it is (nothing to do), as before.
        #expect(try HookPlanner.prepare(ghost, inventory: inventory, running: [:], held: [:], config: PlacementConfig()).steps.isEmpty)
    }

    @Test func releaseNeverRemovesAHeldVGPUAndSaysWhy() throws {
        var inventory = Inventories.samples
        let held = Inventories.vgpu(1, on: "mtty", type: "mtty-2"), free = Inventories.vgpu(2, on: "mtty", type: "mtty-2")
        inventory.vgpus = [held, free]
        let ghost = try Self.domain("ghost", devices: [held.uuid, free.uuid], requests: [
            VGPURequest(uuid: held.uuid, type: "mtty-2", lifetime: .domain), VGPURequest(uuid: free.uuid, type: "mtty-2", lifetime: .domain),
        ])
        let decided = HookPlanner.releaseDecision(ghost, inventory: inventory, running: [:], held: [held.uuid: [Self.qemu]])
        #expect(decided.plan.steps == [LifecyclePlanner.removeStep(free)])
        #expect(decided.warnings.count == 1)
        #expect(decided.warnings.first?.contains("kept vGPU \(held.uuid)") == true)
        #expect(decided.warnings.first?.contains("process 4242 (qemu-system-x86) holds /dev/vfio/17") == true)
        // A failed incoming migration releases what the hook created, but never a held one (one warning, not two).
        let failed = HookPlanner.releaseDecision(ghost, inventory: inventory, running: [:], held: [held.uuid: [Self.qemu]],
                                                 reason: .failed, incoming: [held.uuid])
        #expect(!failed.plan.steps.contains(LifecyclePlanner.removeStep(held)))
        #expect(failed.warnings.count == 1)
    }

    @Test func incomingRenamesAHeldDomainLifetimeVGPU() throws {
        var inventory = Inventories.samples
        let source = Inventories.vgpu(1, on: "mtty", type: "mtty-2")
        inventory.vgpus = [source]
        // On one kernel with two libvirtd: the source's QEMU holds the vGPU; the destination's status files do not know it.
        let domain = try Self.domain("hvm", devices: [source.uuid], requests: [VGPURequest(uuid: source.uuid, type: "mtty-2", lifetime: .domain)])
        let incoming = try MigrationPlanner.incoming(domain, inventory: inventory, inUse: [], held: [source.uuid: [Self.qemu]],
                                                     config: PlacementConfig(), freshUUID: MigrationPlannerTests.Fresh().uuid)
        let renamed = Inventories.uuid(501)
        #expect(incoming.renames == [source.uuid: renamed])
        #expect(incoming.plan.steps == [.createMdev(uuid: renamed, parent: "mtty", type: "mtty-2")])
        #expect(incoming.devices == [MigratingVGPU(sourceUUID: source.uuid, destinationUUID: renamed, type: "mtty-2", created: true)])
        // Nobody holds it: it is used as it is.
        let free = try MigrationPlanner.incoming(domain, inventory: inventory, inUse: [], held: [:], config: PlacementConfig(),
                                                 freshUUID: MigrationPlannerTests.Fresh().uuid)
        #expect(free.renames.isEmpty && free.plan.steps.isEmpty)
    }
}
