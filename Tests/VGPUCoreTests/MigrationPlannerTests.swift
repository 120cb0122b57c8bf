import Testing
@testable import VGPUCore

/// What a live migration decides without I/O: the source's check of the destination, the destination hook's
/// plan for an incoming domain, the release afterwards, and the XML edits that carry the decisions.
@Suite struct MigrationPlannerTests {
    static func domain(_ name: String, devices: [DeviceUUID], requests: [VGPURequest]) throws -> DomainDocument {
        try HookAndReconcileTests.domain(name, devices: devices, requests: requests)
    }

    /// A counter of fresh UUIDs, as libuuid would give them.
    final class Fresh {
        var next = 500
        func uuid() -> DeviceUUID { next += 1; return Inventories.uuid(next) }
    }

    @Test func theSourceKeepsFreeUUIDsRenamesTakenOnesAndRefusesWithoutRoom() throws {
        let kept = Inventories.uuid(1), taken = Inventories.uuid(2)
        let domain = try Self.domain("web01", devices: [kept, taken], requests: [VGPURequest(uuid: kept, type: "mtty-2", lifetime: .persistent),
                                                                              VGPURequest(uuid: taken, type: "mtty-2", lifetime: .persistent)])
        let fresh = Fresh()
        let destination = MigrationPlanner.Destination(available: ["mtty-2": 2], existing: [taken])
        let devices = try MigrationPlanner.check(domain: domain, source: Inventories.samples, destination: destination, destinationURI: "qemu+tcp://b/system",
                                                 freshUUID: fresh.uuid)
        #expect(devices.map(\.destinationUUID) == [kept, Inventories.uuid(501)])
        #expect(devices.allSatisfy { $0.type == "mtty-2" && $0.created })

        let full = MigrationPlanner.Destination(available: ["mtty-2": 1], existing: [])
        let error = #expect(throws: VGPUError.self) {
            try MigrationPlanner.check(domain: domain, source: Inventories.samples, destination: full, destinationURI: "qemu+tcp://b/system", freshUUID: fresh.uuid)
        }
        #expect(error?.kind == .noCapacity)
        #expect(error?.message.contains("2 mtty-2 needed, 1 free") == true && error?.message.contains("nothing was changed") == true)

        let other = MigrationPlanner.Destination(available: ["mdpy-vga": 4], existing: [])
        let missing = #expect(throws: VGPUError.self) {
            try MigrationPlanner.check(domain: domain, source: Inventories.samples, destination: other, destinationURI: "qemu+tcp://b/system", freshUUID: fresh.uuid)
        }
        #expect(missing?.message.contains("type mtty-2 does not exist there") == true)
    }

    @Test func theSourceTakesATypeFromItsInventoryWhenMetadataIsSilent() throws {
        var source = Inventories.samples
        source.vgpus = [Inventories.vgpu(3, on: "mtty", type: "mtty-1")]
        let domain = try Self.domain("web01", devices: [Inventories.uuid(3)], requests: [])
        let devices = try MigrationPlanner.check(domain: domain, source: source, destination: .init(available: ["mtty-1": 1], existing: []),
                                                 destinationURI: "d", freshUUID: Fresh().uuid)
        #expect(devices == [MigratingVGPU(sourceUUID: Inventories.uuid(3), destinationUUID: Inventories.uuid(3), type: "mtty-1", created: true)])
        let unknown = try Self.domain("web02", devices: [Inventories.uuid(4)], requests: [])
        #expect(throws: VGPUError.self) {
            try MigrationPlanner.check(domain: unknown, source: source, destination: .init(available: [:], existing: []), destinationURI: "d", freshUUID: Fresh().uuid)
        }
    }

    @Test func theDestinationCreatesKeepsOrRenamesAndDefinesWhatTheSourceHadDefined() throws {
        let absent = Inventories.uuid(1), free = Inventories.uuid(2), busy = Inventories.uuid(3)
        var inventory = Inventories.samples
        inventory.vgpus = [Inventories.vgpu(2, on: "mtty", type: "mtty-2"), Inventories.vgpu(3, on: "mtty", type: "mtty-2")]
        let domain = try Self.domain("web01", devices: [absent, free, busy], requests: [
            VGPURequest(uuid: absent, type: "mtty-2", lifetime: .persistent, defined: .auto),
            VGPURequest(uuid: free, type: "mtty-2", lifetime: .persistent),
            VGPURequest(uuid: busy, type: "mtty-2", lifetime: .persistent),
        ])
        let incoming = try MigrationPlanner.incoming(domain, inventory: inventory, inUse: [busy], config: PlacementConfig(), freshUUID: Fresh().uuid)
        let renamed = Inventories.uuid(501)
        #expect(incoming.renames == [busy: renamed])
        #expect(incoming.plan.steps == [
            .createMdev(uuid: absent, parent: "mtty", type: "mtty-2"),
            .writeDefinition(Definition(uuid: absent, parent: "mtty", type: "mtty-2", start: .auto)),
            .createMdev(uuid: renamed, parent: "mtty", type: "mtty-2"),
        ])
        #expect(incoming.devices.map(\.created) == [true, false, true])
        #expect(incoming.plan.recovery == .rollBack)
    }

    @Test func theDestinationRefusesWhatItCannotProvide() throws {
        var inventory = Inventories.samples
        let mtty = try #require(inventory.parents.firstIndex { $0.name == "mtty" })
        inventory.parents[mtty].types = inventory.parents[mtty].types.map { var type = $0; type.availableInstances = 0; return type }
        let uuid = Inventories.uuid(1)
        let full = try Self.domain("web01", devices: [uuid], requests: [VGPURequest(uuid: uuid, type: "mtty-2", lifetime: .persistent)])
        let error = #expect(throws: VGPUError.self) {
            try MigrationPlanner.incoming(full, inventory: inventory, inUse: [], config: PlacementConfig(), freshUUID: Fresh().uuid)
        }
        #expect(error?.kind == .noCapacity && error?.message.hasPrefix("incoming domain web01: ") == true)
        let silent = try Self.domain("web02", devices: [uuid], requests: [])
        let unknown = #expect(throws: VGPUError.self) {
            try MigrationPlanner.incoming(silent, inventory: inventory, inUse: [], config: PlacementConfig(), freshUUID: Fresh().uuid)
        }
        #expect(unknown?.kind == .notFound && unknown?.fix.contains("vgpuctl attach") == true)
    }

    @Test func releaseRemovesAFailedIncomingMigrationsVGPUsAndWhatMigratedAway() throws {
        let created = Inventories.uuid(1), persistent = Inventories.uuid(2), defined = Inventories.uuid(3)
        var inventory = Inventories.samples
        inventory.vgpus = [1, 2, 3].map { Inventories.vgpu($0, on: "mtty", type: "mtty-2") }
        let definition = Definition(uuid: created, parent: "mtty", type: "mtty-2", start: .auto)
        inventory.definitions = [definition, Definition(uuid: defined, parent: "mtty", type: "mtty-2", start: .manual)]
        let domain = try Self.domain("web01", devices: [created, persistent, defined], requests: [
            VGPURequest(uuid: created, type: "mtty-2", lifetime: .persistent),
            VGPURequest(uuid: persistent, type: "mtty-2", lifetime: .persistent),
            VGPURequest(uuid: defined, type: "mtty-2", lifetime: .persistent),
        ])
        let failed = HookPlanner.release(domain, inventory: inventory, running: [:], reason: .failed, incoming: [created])
        #expect(failed.steps == [.deleteDefinition(definition), .removeMdev(uuid: created, parent: "mtty", type: "mtty-2")])
        #expect(HookPlanner.release(domain, inventory: inventory, running: [:], reason: .other, incoming: [created]).steps.isEmpty)
        let migrated = HookPlanner.release(domain, inventory: inventory, running: [:], reason: .migrated)
        #expect(migrated.steps == [.removeMdev(uuid: persistent, parent: "mtty", type: "mtty-2")])
        let shared = HookPlanner.release(domain, inventory: inventory, running: [.mdev(persistent): ["other"]], reason: .migrated)
        #expect(shared.steps.isEmpty)
        #expect(HookPlanner.ReleaseReason(argument: "migrated") == .migrated && HookPlanner.ReleaseReason(argument: "-") == .other)
    }

    static let xml = """
        <domain type='kvm'>
          <name>web01</name>
          <description>uuid='\(Inventories.uuid(1))' stays</description>
          <metadata>
            <vgpu:vgpus xmlns:vgpu="\(VGPUMetadata.namespace)">
              <vgpu:device uuid="\(Inventories.uuid(1))" type="mtty-2" lifetime="persistent"/>
            </vgpu:vgpus>
            <other:x xmlns:other='urn:other'><other:device uuid='\(Inventories.uuid(1))'/></other:x>
          </metadata>
          <devices>
            <hostdev mode='subsystem' type='mdev' model='vfio-pci'>
              <source><address uuid='\(Inventories.uuid(1))'/></source>
              <alias name='ua-vgpu-\(Inventories.uuid(1))'/>
            </hostdev>
            <!-- <hostdev type='mdev'><source><address uuid='\(Inventories.uuid(1))'/></source></hostdev> -->
          </devices>
        </domain>

        """

    @Test func renamesChangeOnlyTheDeviceAndItsMetadataByteForByte() throws {
        let old = Inventories.uuid(1), new = Inventories.uuid(7)
        let renamed = try DomainEdits.renamingVGPUs(in: Self.xml, [old: new], what: "t")
        #expect(renamed.split(separator: "\n").filter { $0.contains(new.text) }.count == 2)
        #expect(renamed.split(separator: "\n").filter { $0.contains(old.text) }.count == 4)  // description, foreign, alias, comment
        let document = try DomainDocument(xml: renamed, what: "t")
        #expect(document.mdevUUIDs == [new])
        #expect(VGPUMetadata.requests(in: document).requests.map(\.uuid) == [new])
        #expect(try DomainEdits.renamingVGPUs(in: renamed, [new: old], what: "t") == Self.xml)
    }

    @Test func definitionsAreRecordedInTheMetadata() throws {
        let recorded = try DomainEdits.recordingDefinitions(in: Self.xml, [Inventories.uuid(1): .auto], what: "t")
        #expect(VGPUMetadata.requests(in: try DomainDocument(xml: recorded, what: "t")).requests.first?.defined == .auto)
        let changed = try DomainEdits.recordingDefinitions(in: recorded, [Inventories.uuid(1): .manual], what: "t")
        #expect(VGPUMetadata.requests(in: try DomainDocument(xml: changed, what: "t")).requests.first?.defined == .manual)
        #expect(try DomainEdits.recordingDefinitions(in: Self.xml, [:], what: "t") == Self.xml)
    }

    @Test func theMigrationOverrideIsAddedOnceAndRemovedWhole() throws {
        let alias = DomainEdits.userAlias(for: Inventories.uuid(1))
        let added = try #require(try DomainEdits.addingMigrationOverride(in: Self.xml, alias: alias, what: "t"))
        #expect(try DomainEdits.addingMigrationOverride(in: added, alias: alias, what: "t") == nil, "added once")
        let root = try DomainDocument(xml: added, what: "t").root
        let properties = root.child("override", namespace: DomainEdits.qemuNamespace)?.child("device", namespace: DomainEdits.qemuNamespace)?
            .child("frontend", namespace: DomainEdits.qemuNamespace)?.children("property", namespace: DomainEdits.qemuNamespace) ?? []
        #expect(properties.map { "\($0.attribute("name") ?? "")=\($0.attribute("value") ?? "") (\($0.attribute("type") ?? ""))" }
                == ["x-device-dirty-page-tracking=off (string)", "enable-migration=on (string)"])
        #expect(try DomainEdits.removingMigrationOverride(in: added, alias: alias, what: "t") == Self.xml)
        #expect(try DomainEdits.removingMigrationOverride(in: Self.xml, alias: alias, what: "t") == nil)
        #expect(throws: VGPUError.self) { try DomainEdits.addingMigrationOverride(in: Self.xml, alias: "ua-other", what: "t") }
    }

    @Test func migratableNeedsTheDefinitionOnly() throws {
        let placement = Placement(parent: "mtty", gpu: "mtty", type: "mtty-2", layout: .mdev, reason: "")
        let plan = try DomainPlanner.createAndAttach([placement], uuids: [Inventories.uuid(1)], domain: "web01", scope: .config, migratable: true) { _ in "<hostdev/>" }
        #expect(plan.steps.last == .addMigrationOverride(domain: "web01", alias: "ua-vgpu-\(Inventories.uuid(1))"))
        #expect(Step.addMigrationOverride(domain: "d", alias: "a").inverse == .removeMigrationOverride(domain: "d", alias: "a"))
        let error = #expect(throws: VGPUError.self) {
            try DomainPlanner.createAndAttach([placement], uuids: [Inventories.uuid(1)], domain: "web01", scope: .both, migratable: true) { _ in "<hostdev/>" }
        }
        #expect(error?.kind == .invalidInput && error?.fix.contains("--config") == true)
    }

    /// `create --vm --lifetime domain --migratable` once dropped --migratable: the domain could not migrate.
    @Test func aDomainLifetimeRequestGetsTheOverrideWhenMigratable() throws {
        let uuid = Inventories.uuid(1)
        let plan = try DomainPlanner.requestForDomain(type: "mtty-2", uuid: uuid, domain: "web01", inventory: Inventories.samples,
                                                      hostdev: { _ in "<hostdev/>" }, group: nil, policy: nil, migratable: true).plan
        #expect(plan.steps.last == .addMigrationOverride(domain: "web01", alias: "ua-vgpu-\(uuid)"))
        let plain = try DomainPlanner.requestForDomain(type: "mtty-2", uuid: uuid, domain: "web01", inventory: Inventories.samples,
                                                       hostdev: { _ in "<hostdev/>" }, group: nil, policy: nil).plan
        #expect(!plain.steps.contains(.addMigrationOverride(domain: "web01", alias: "ua-vgpu-\(uuid)")))
    }
}
