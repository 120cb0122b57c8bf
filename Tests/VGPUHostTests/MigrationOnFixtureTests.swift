import Foundation
import Testing
@testable import VGPUApp
import VGPUCore
import VGPUFixtures
import VGPUHost

/// Migration's host side on a fixture tree: the destination hook (`migrate begin`, then `release end`) and the
/// source's coordinator driven by a scripted libvirt.
@Suite struct MigrationOnFixtureTests {
    static let source = try! DeviceUUID(parsing: "5a1c0000-0000-4000-8000-000000000001")

    static func context(_ host: TestHost) -> Environment { Environment(paths: host.paths, os: SimulatedKernel(tree: host.tree)) }

    static func incomingXML(_ uuid: DeviceUUID, name: String = "web01") -> String {
        """
        <domain type='qemu'><name>\(name)</name>
          <metadata><vgpu:vgpus xmlns:vgpu='\(VGPUMetadata.namespace)'><vgpu:device uuid='\(uuid)' type='mtty-2' lifetime='persistent'/></vgpu:vgpus></metadata>
          <devices><hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='\(uuid)'/></source><alias name='ua-vgpu-\(uuid)'/></hostdev></devices>
        </domain>
        """
    }

    /// A running domain `name` that uses `uuid`, as libvirt's status file says.
    static func running(_ name: String, uses uuid: DeviceUUID, in host: TestHost) throws {
        let directory = host.root + "/run/libvirt/qemu"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "<domstatus state='running'>\(incomingXML(uuid, name: name))</domstatus>".write(toFile: directory + "/\(name).xml", atomically: true, encoding: .utf8)
    }

    @Test func theDestinationHookRenamesATakenUUIDCreatesItAndReleasesItOnlyWhenTheMigrationFailed() throws {
        let host = try TestHost()
        let context = Self.context(host)
        _ = try Application(environment: context, lockWait: 0, command: "test").run(CreateVGPUs(PlacementRequest(type: "mtty-2"), uuids: [Self.source], persist: false))
        try Self.running("src", uses: Self.source, in: host)

        for (reason, kept) in [("failed", false), ("shutdown", true)] {
            let outcome = try Application(environment: context, command: "test").run(LibvirtHook(.migrate, domainXML: Self.incomingXML(Self.source), wait: 0, started: 0))
            let xml = try #require(outcome.xml)
            let renamed = try #require(DomainDocument(xml: xml, what: "t").mdevUUIDs.first)
            #expect(renamed != Self.source)
            #expect(VGPUMetadata.requests(in: try DomainDocument(xml: xml, what: "t")).requests.map(\.uuid) == [renamed])
            #expect(xml.contains("ua-vgpu-\(Self.source)"), "the alias (and so any qemu:override of it) is kept")
            #expect(try host.inventory().vgpu(renamed)?.type == "mtty-2")
            #expect(host.contents("run/vgpuctl/incoming/web01") == renamed.text + "\n")

            guard let operation = LibvirtHook.Operation(arguments: ["web01", "release", "end", reason]) else { Issue.record("no operation"); return }
            _ = try Application(environment: context, command: "test").run(LibvirtHook(operation, domainXML: xml, wait: 0, started: 0))
            #expect((try host.inventory().vgpu(renamed) != nil) == kept, "\(reason)")
            #expect(host.contents("run/vgpuctl/incoming/web01") == nil)
        }
        #expect(try host.inventory().vgpu(Self.source) != nil, "the source's vGPU is never touched")
    }

    /// The hook reports how long it waited for the host lock (HookMain logs it; vmtier's load scenario takes the
    /// p50/p99 of it over 32 concurrent starts): about the time another process held the lock, not its own run.
    @Test func theHookReportsItsWaitForTheHostLock() throws {
        let host = try TestHost()
        let context = Self.context(host)
        let xml = Self.incomingXML(Self.source).replacingOccurrences(of: "lifetime='persistent'", with: "lifetime='domain'")
        let free = try Application(environment: context, command: "test").run(LibvirtHook(.prepare, domainXML: xml, wait: 5, started: 0))
        #expect(free.lockWaitMilliseconds >= 0 && free.lockWaitMilliseconds < 400, "nobody held it: \(free.lockWaitMilliseconds) ms")
        #expect(try host.inventory().vgpu(Self.source)?.type == "mtty-2")

        guard let release = LibvirtHook.Operation(arguments: ["web01", "release", "end", "shutdown"]) else { Issue.record("no operation"); return }
        // Another process (util-linux flock) holds the lock for 0.6 s; the hook starts once it surely holds it.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = [host.root + "/run/vgpuctl/lock", "sleep", "0.6"]
        try holder.run()
        while (try? HostLock.acquire(paths: host.paths, os: LiveSystemCalls(), wait: 0, holder: "probe")) != nil { usleep(10_000) }
        let waited = try Application(environment: context, command: "test").run(LibvirtHook(release, domainXML: xml, wait: 5, started: 0))
        holder.waitUntilExit()
        #expect(waited.lockWaitMilliseconds > 200, "it waited for the holder: \(waited.lockWaitMilliseconds) ms")
        #expect(try host.inventory().vgpu(Self.source) == nil, "the domain-lifetime vGPU was released")
    }

    @Test func anIncomingUUIDThatIsFreeHereIsCreatedUnderItsOwnNameAndTheXMLIsLeftAlone() throws {
        let host = try TestHost()
        let outcome = try Application(environment: Self.context(host), command: "test").run(LibvirtHook(.migrate, domainXML: Self.incomingXML(Self.source), wait: 0, started: 0))
        #expect(outcome.xml == nil)
        #expect(try host.inventory().vgpu(Self.source)?.type == "mtty-2")
    }

    // MARK: the coordinator

    /// libvirt on the source, scripted: one running domain; the migration ends after `samples` looks, or when aborted.
    final class ScriptedSource: Hypervisor, MigrationSource, @unchecked Sendable {
        let xml: String
        var samples: [MigrationSample]
        let lock = NSLock()
        var downtimes: [UInt64] = []
        var aborted = false
        var migrated: MigrationRequest?
        var looks = 0

        init(xml: String, samples: [MigrationSample]) {
            self.xml = xml
            self.samples = samples
        }

        func domain(_ nameOrUUID: String) throws -> DomainInfo { DomainInfo(name: "web01", uuid: "u", isActive: true) }
        func domains() throws -> [DomainInfo] { [try domain("web01")] }
        func xml(of domain: String, inactive: Bool) throws -> String { xml }
        func attach(_ xml: String, to domain: String, scope: AttachScope) throws { throw VGPUError(.libvirt, "not here") }
        func detach(_ xml: String, from domain: String, scope: AttachScope, timeout: Double) throws { throw VGPUError(.libvirt, "not here") }
        func define(_ xml: String) throws { throw VGPUError(.libvirt, "not here") }
        func setMetadata(_ element: String?, namespace: String, prefix: String, domain: String, scope: AttachScope) throws { throw VGPUError(.libvirt, "not here") }

        func migratableXML(of domain: String, inactive: Bool) throws -> String { xml }
        func migrate(_ domain: String, to destination: String, request: MigrationRequest, persistent: Bool) throws {
            lock.withLock { migrated = request }
            while true {
                let (done, abort) = lock.withLock { (looks >= samples.count, aborted) }
                if abort { throw VGPUError(.libvirt, "libvirt could not migrate domain web01: operation aborted: migration out job: canceled by client") }
                if done { return }
                usleep(1000)
            }
        }
        func migrationSample(_ domain: String) -> MigrationSample? {
            lock.withLock {
                guard looks < samples.count else { return nil }
                looks += 1
                return samples[looks - 1]
            }
        }
        func completedMigration(_ domain: String) -> CompletedMigration? { CompletedMigration(downtimeMs: 42, totalMs: 1234, deviceBytes: 9) }
        func setMaxDowntime(_ domain: String, milliseconds: UInt64) throws { lock.withLock { downtimes.append(milliseconds) } }
        func abortMigration(_ domain: String) throws { lock.withLock { aborted = true } }
    }

    static func sample(_ elapsed: Double, left: UInt64) -> MigrationSample {
        MigrationSample(elapsed: elapsed, iteration: Int(elapsed), ramRemaining: left, dirtyRate: 1e6, bandwidth: 100e6)
    }

    /// The destination: the same kernel's view (it has the source's UUID, so the vGPU is renamed), with room.
    static func destination(_ host: TestHost, available: Int = 12) -> () throws -> [NodeDevice] {
        { [NodeDevice(name: "mtty", parent: nil, active: true, uuid: nil, type: nil, types: [VGPUType(id: "mtty-2", availableInstances: available)]),
           NodeDevice(name: "mdev_x", parent: "mtty", active: true, uuid: Self.source, type: "mtty-2", types: [])] }
    }

    @Test func aSuccessfulMigrationRenamesRecordsTheDefinitionAndReleasesTheSource() throws {
        let host = try TestHost()
        let context = Self.context(host)
        _ = try Application(environment: context, lockWait: 0, command: "test").run(CreateVGPUs(PlacementRequest(type: "mtty-2"), uuids: [Self.source], persist: true))
        // The job's first looks, while the destination is prepared, show no data moving: not a stall.
        let setup = (0..<30).map { MigrationSample(elapsed: Double($0) / 10, iteration: 0, ramRemaining: 0, dirtyRate: 0, bandwidth: 0) }
        let fake = ScriptedSource(xml: Self.incomingXML(Self.source), samples: setup + [Self.sample(4, left: 50_000_000), Self.sample(5, left: 1_000_000)])
        let migration = LiveMigration(application: Application(environment: context, lockWait: 0, command: "test"), options: .init(destination: "qemu+tcp://b/system", pollInterval: 0.001))
        var log: [String] = []
        let report = try migration.run(domain: "web01", source: fake, destination: Self.destination(host), log: { log.append($0) })
        #expect(!log.contains { $0.hasPrefix("raise") || $0.hasPrefix("abort") }, "\(log)")

        let device = try #require(report.devices.first)
        #expect(device.sourceUUID == Self.source && device.destinationUUID != Self.source)
        let sent = try DomainDocument(xml: try #require(fake.migrated?.destinationXML), what: "t")
        #expect(sent.mdevUUIDs == [device.destinationUUID])
        #expect(VGPUMetadata.requests(in: sent).requests.first?.defined == .auto, "the destination defines what the source had defined")
        #expect(fake.downtimes.first == 20, "the policy's first allowance is applied as soon as the job shows")
        #expect(report.downtimeMs == 42 && report.totalMs == 1234)
        let after = try host.inventory()
        #expect(after.vgpu(Self.source) == nil && after.definition(Self.source) == nil)
        #expect(report.released.count == 2)
    }

    @Test func noRoomOnTheDestinationChangesNothing() throws {
        let host = try TestHost()
        let context = Self.context(host)
        _ = try Application(environment: context, lockWait: 0, command: "test").run(CreateVGPUs(PlacementRequest(type: "mtty-2"), uuids: [Self.source], persist: false))
        let before = host.snapshot()
        let fake = ScriptedSource(xml: Self.incomingXML(Self.source), samples: [])
        let migration = LiveMigration(application: Application(environment: context, lockWait: 0, command: "test"), options: .init(destination: "qemu+tcp://b/system"))
        let error = #expect(throws: VGPUError.self) { try migration.run(domain: "web01", source: fake, destination: Self.destination(host, available: 0), log: { _ in }) }
        #expect(error?.kind == .noCapacity && error?.message.contains("mtty-2") == true)
        #expect(fake.migrated == nil && host.snapshot() == before)
    }

    @Test func aMigrationThatDoesNotConvergeIsAbortedAndTheSourceKeepsItsVGPU() throws {
        let host = try TestHost()
        let context = Self.context(host)
        _ = try Application(environment: context, lockWait: 0, command: "test").run(CreateVGPUs(PlacementRequest(type: "mtty-2"), uuids: [Self.source], persist: false))
        let stalled = (1...400).map { Self.sample(Double($0), left: 900_000_000) }
        let fake = ScriptedSource(xml: Self.incomingXML(Self.source), samples: stalled)
        let migration = LiveMigration(application: Application(environment: context, lockWait: 0, command: "test"),
                                      options: .init(destination: "qemu+tcp://b/system", maxDowntimeMs: 300, timeout: 30, pollInterval: 0.001))
        var log: [String] = []
        let error = #expect(throws: VGPUError.self) { try migration.run(domain: "web01", source: fake, destination: Self.destination(host), log: { log.append($0) }) }
        #expect(error?.kind == .libvirt && error?.message.contains("vgpuctl aborted it") == true && error?.message.contains("keeps running here") == true)
        #expect(fake.aborted && log.contains { $0.hasPrefix("raise downtime") })
        #expect(fake.downtimes.max() == 300, "never beyond the cap")
        #expect(try host.inventory().vgpu(Self.source) != nil)
    }
}
