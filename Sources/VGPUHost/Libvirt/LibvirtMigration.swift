#if canImport(Glibc)
import Glibc
#endif
import CLibvirt
import VGPUCore

/// What a migration asks of libvirt on the source: the XML to give the destination, and how to move.
public struct MigrationRequest: Equatable, Sendable {
    /// The domain's live XML as the destination should start it (vGPU UUIDs already renamed).
    public var destinationXML: String
    /// With `--persistent`: the persistent definition the destination keeps (renamed the same way).
    public var persistentXML: String?
    /// Where QEMU sends the stream (libvirt's `migrate_uri`); nil: libvirt's default (the destination's hostname).
    public var migrateURI: String?

    public init(destinationXML: String, persistentXML: String? = nil, migrateURI: String? = nil) {
        self.destinationXML = destinationXML
        self.persistentXML = persistentXML
        self.migrateURI = migrateURI
    }
}

/// A finished migration's own numbers (libvirt's completed job statistics).
public struct CompletedMigration: Equatable, Sendable {
    public var downtimeMs: UInt64?
    public var totalMs: UInt64?
    public var deviceBytes: UInt64?

    public init(downtimeMs: UInt64?, totalMs: UInt64?, deviceBytes: UInt64?) {
        self.downtimeMs = downtimeMs
        self.totalMs = totalMs
        self.deviceBytes = deviceBytes
    }
}

/// The source side of a live migration as the coordinator drives it. `LibvirtConnection` is the real one;
/// tests use a scripted fake.
public protocol MigrationSource: AnyObject {
    /// The live XML (`migratable`: as libvirt gives it for a migration) or the persistent definition.
    func migratableXML(of domain: String, inactive: Bool) throws -> String
    /// Runs the migration to `destination` (a libvirt URI the source daemon connects to, peer to peer) and
    /// returns when it has ended; throws libvirt's error when it failed or was aborted.
    func migrate(_ domain: String, to destination: String, request: MigrationRequest, persistent: Bool) throws
    /// The running migration's statistics; nil while libvirt has no migration job for the domain.
    func migrationSample(_ domain: String) -> MigrationSample?
    func completedMigration(_ domain: String) -> CompletedMigration?
    func setMaxDowntime(_ domain: String, milliseconds: UInt64) throws
    func abortMigration(_ domain: String) throws
}

extension LibvirtConnection: MigrationSource {
    public func migratableXML(of domain: String, inactive: Bool) throws -> String {
        let handle = try lookup(domain)
        defer { _ = api.virDomainFree(handle) }
        let flags = UInt32(VIR_DOMAIN_XML_MIGRATABLE.rawValue) | (inactive ? UInt32(VIR_DOMAIN_XML_INACTIVE.rawValue) : 0)
        guard let text = api.virDomainGetXMLDesc(handle, flags) else {
            throw Self.error(api, .libvirt, "could not read the migratable XML of domain \(domain)")
        }
        defer { free(text) }
        return String(cString: text)
    }

    public func migrate(_ domain: String, to destination: String, request: MigrationRequest, persistent: Bool) throws {
        let handle = try lookup(domain)
        defer { _ = api.virDomainFree(handle) }
        var params: virTypedParameterPtr?
        var count: Int32 = 0, capacity: Int32 = 0
        defer { api.virTypedParamsFree(params, count) }
        var strings = [("destination_xml", request.destinationXML)]
        if let xml = request.persistentXML { strings.append(("persistent_xml", xml)) }
        if let uri = request.migrateURI { strings.append(("migrate_uri", uri)) }
        for (name, value) in strings where api.virTypedParamsAddString(&params, &count, &capacity, name, value) != 0 {
            throw Self.error(api, .internalError, "could not pass \(name) to libvirt")
        }
        var flags = UInt32(VIR_MIGRATE_LIVE.rawValue | VIR_MIGRATE_PEER2PEER.rawValue | VIR_MIGRATE_ABORT_ON_ERROR.rawValue)
        if persistent { flags |= UInt32(VIR_MIGRATE_PERSIST_DEST.rawValue) }
        guard api.virDomainMigrateToURI3(handle, destination, params, UInt32(count), flags) == 0 else {
            throw Self.error(api, .libvirt, "libvirt could not migrate domain \(domain) to \(destination)")
        }
    }

    public func migrationSample(_ domain: String) -> MigrationSample? {
        guard let stats = jobStatistics(domain, completed: false) else { return nil }
        let pageSize = Double(stats["memory_page_size"] ?? 4096)
        return MigrationSample(elapsed: Double(stats["time_elapsed"] ?? 0) / 1000, iteration: Int(stats["memory_iteration"] ?? 0),
                               ramRemaining: stats["memory_remaining"] ?? 0, dirtyRate: Double(stats["memory_dirty_rate"] ?? 0) * pageSize,
                               bandwidth: Double(stats["memory_bps"] ?? 0), deviceTransferred: stats["vfio_data_transferred"] ?? 0)
    }

    public func completedMigration(_ domain: String) -> CompletedMigration? {
        guard let stats = jobStatistics(domain, completed: true) else { return nil }
        return CompletedMigration(downtimeMs: stats["downtime"], totalMs: stats["time_elapsed"], deviceBytes: stats["vfio_data_transferred"])
    }

    public func setMaxDowntime(_ domain: String, milliseconds: UInt64) throws {
        let handle = try lookup(domain)
        defer { _ = api.virDomainFree(handle) }
        guard api.virDomainMigrateSetMaxDowntime(handle, milliseconds, 0) == 0 else {
            throw Self.error(api, .libvirt, "could not set the allowed downtime of domain \(domain)'s migration to \(milliseconds) ms")
        }
    }

    public func abortMigration(_ domain: String) throws {
        let handle = try lookup(domain)
        defer { _ = api.virDomainFree(handle) }
        guard api.virDomainAbortJob(handle) == 0 else { throw Self.error(api, .libvirt, "could not abort domain \(domain)'s migration") }
    }

    /// The job's numeric statistics by libvirt's field names; nil when libvirt has no job (or no completed one)
    /// for the domain.
    private func jobStatistics(_ domain: String, completed: Bool) -> [String: UInt64]? {
        guard let handle = try? lookup(domain) else { return nil }
        defer { _ = api.virDomainFree(handle) }
        var type: Int32 = 0, count: Int32 = 0
        var params: virTypedParameterPtr?
        let flags = completed ? UInt32(VIR_DOMAIN_JOB_STATS_COMPLETED.rawValue) : 0
        guard api.virDomainGetJobStats(handle, &type, &params, &count, flags) == 0 else { return nil }
        defer { api.virTypedParamsFree(params, count) }
        guard type != Int32(VIR_DOMAIN_JOB_NONE.rawValue) else { return nil }
        var stats: [String: UInt64] = [:]
        for name in ["time_elapsed", "memory_remaining", "memory_dirty_rate", "memory_page_size", "memory_bps", "memory_iteration",
                     "downtime", "vfio_data_transferred"] {
            var value: UInt64 = 0
            if api.virTypedParamsGetULLong(params, count, name, &value) == 1 { stats[name] = value }
        }
        return stats
    }
}
