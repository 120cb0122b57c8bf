#if canImport(Glibc)
import Glibc
#endif
import VGPUCore
import VGPUHost

/// `vgpuctl migrate`: moves a running domain with its vGPUs to another host through libvirt.
///
/// 1. Check, before anything changes: the domain runs, and the destination (its libvirt's node devices) has a
///    free instance of every vGPU's type; choose each vGPU's destination UUID (its own where free there).
/// 2. Give libvirt the domain's XML for the destination with the UUIDs renamed, and `defined=` recorded in
///    vgpuctl's metadata where the source has a definition. The destination's vgpuctl hook (`migrate begin`)
///    creates the vGPUs from that metadata, and releases them again if the incoming migration fails.
/// 3. Run the live migration (peer to peer) on a background thread and poll its job statistics, applying the
///    pre-copy policy: the allowed downtime is raised step by step up to the cap, and the job is aborted at
///    the timeout or when it cannot converge.
/// 4. On success release the source's vGPUs and their definitions (one journaled plan); on failure leave the
///    domain running here with its vGPUs and report libvirt's message, and anything the destination kept.
public struct LiveMigration {
    public struct Options: Sendable {
        public var destination: String
        public var migrateURI: String?
        public var persistent: Bool
        /// The cap on the allowed downtime, ms.
        public var maxDowntimeMs: Double
        /// Seconds before the migration is aborted.
        public var timeout: Double
        /// Seconds between two looks at the job.
        public var pollInterval: Double

        public init(destination: String, migrateURI: String? = nil, persistent: Bool = false, maxDowntimeMs: Double = 1000,
                    timeout: Double = 300, pollInterval: Double = 0.5) {
            self.destination = destination
            self.migrateURI = migrateURI
            self.persistent = persistent
            self.maxDowntimeMs = maxDowntimeMs
            self.timeout = timeout
            self.pollInterval = pollInterval
        }
    }

    public struct Report: Encodable, Sendable {
        public var domain: String
        public var destination: String
        public var devices: [MigratingVGPU]
        public var downtimeMs: UInt64?
        public var totalMs: UInt64
        /// The policy's decisions, in order, each with its reason.
        public var decisions: [String]
        /// What was released on this host afterwards.
        public var released: [String]

        enum CodingKeys: String, CodingKey {
            case domain, destination, devices, downtimeMs = "downtime_ms", totalMs = "total_ms", decisions, released
        }
    }

    /// The host, the lock wait and holder name for the release afterwards (the migration itself holds no lock:
    /// the source's own hook runs during it).
    public let application: Application
    public let options: Options

    public init(application: Application, options: Options) {
        self.application = application
        self.options = options
    }

    var environment: Environment { application.environment }

    /// `destination`: the destination's node devices (its libvirt, read-only). `log`: each decision as made.
    public func run<Source: Hypervisor & MigrationSource>(domain name: String, source: Source, destination: () throws -> [NodeDevice],
                                                          log: (String) -> Void) throws -> Report {
        let domain = try source.domain(name)
        guard domain.isActive else {
            throw VGPUError(.invalidInput, "domain \(domain.name) is not running: a live migration moves a running domain",
                            fix: "start it first ('virsh start \(domain.name)'), or move a shut-off domain's definition with 'virsh dumpxml' and 'virsh define'")
        }
        let liveXML = try source.migratableXML(of: domain.name, inactive: false)
        let document = try DomainDocument(xml: liveXML, what: "the live XML of domain \(domain.name)")
        let inventory = try environment.inventory()
        let devices = try MigrationPlanner.check(domain: document, source: inventory, destination: .init(nodeDevices: reach(destination)),
                                                 destinationURI: options.destination, freshUUID: LibUUID.random)
        let request = try migrationRequest(domain.name, source: source, liveXML: liveXML, devices: devices, definitions: inventory.definitions)

        let started = monotonicNow()
        let call = BackgroundCall { try source.migrate(domain.name, to: options.destination, request: request, persistent: options.persistent) }
        let decisions = watch(domain.name, source: source, call: call, log: log)
        if case .failure(let error) = call.wait() {
            throw failure(error, domain: domain.name, devices: devices, decisions: decisions, destination: destination)
        }
        let totalMs = UInt64((monotonicNow() - started) * 1000)
        let completed = source.completedMigration(domain.name)
        let released = try releaseSource(devices)
        return Report(domain: domain.name, destination: options.destination, devices: devices, downtimeMs: completed?.downtimeMs,
                      totalMs: completed?.totalMs ?? totalMs, decisions: decisions, released: released)
    }

    /// The XML the destination gets: the vGPUs' destination UUIDs, and the source's definitions recorded.
    private func migrationRequest(_ name: String, source: some MigrationSource, liveXML: String, devices: [MigratingVGPU],
                                  definitions: [Definition]) throws -> MigrationRequest {
        var renames: [DeviceUUID: DeviceUUID] = [:]
        for device in devices where device.destinationUUID != device.sourceUUID { renames[device.sourceUUID] = device.destinationUUID }
        var defined: [DeviceUUID: Definition.Start] = [:]
        for definition in definitions where devices.contains(where: { $0.sourceUUID == definition.uuid }) { defined[definition.uuid] = definition.start }
        let prepare = { (xml: String, what: String) in
            try DomainEdits.renamingVGPUs(in: DomainEdits.recordingDefinitions(in: xml, defined, what: what), renames, what: what)
        }
        let persistent = try options.persistent ? prepare(source.migratableXML(of: name, inactive: true), "the persistent XML of domain \(name)") : nil
        return MigrationRequest(destinationXML: try prepare(liveXML, "the live XML of domain \(name)"), persistentXML: persistent,
                                migrateURI: options.migrateURI)
    }

    /// Polls the job until the call ends, applying the policy; returns its decisions. Every wait is bounded:
    /// the policy aborts at the timeout, and a job libvirt never shows is aborted too.
    private func watch(_ name: String, source: some MigrationSource, call: BackgroundCall, log: (String) -> Void) -> [String] {
        var settings = AdaptivePreCopyPolicy.Settings()
        settings.capMs = options.maxDowntimeMs
        settings.startMs = min(settings.startMs, options.maxDowntimeMs)
        settings.timeout = options.timeout
        var policy = AdaptivePreCopyPolicy(settings)
        var decisions: [String] = [], appliedMs: Double?, aborted = false
        let started = monotonicNow()
        func note(_ line: String) { decisions.append(line); log(line) }
        func allow(_ ms: Double) {
            guard appliedMs != ms else { return }
            do { try source.setMaxDowntime(name, milliseconds: UInt64(ms.rounded(.up))); appliedMs = ms }
            catch { note("could not set the allowed downtime to \(Int(ms)) ms: \(error)") }
        }
        func abort(_ reason: String) {
            guard !aborted else { return }
            aborted = true
            note("abort: \(reason)")
            do { try source.abortMigration(name) } catch { note("could not abort: \(error)") }
        }
        while !call.finished {
            Self.sleep(options.pollInterval)
            guard !call.finished else { break }
            // Before RAM starts to move (libvirt prepares the destination, QEMU sets the stream up: seconds under
            // TCG) the statistics are all zero; a policy fed those would read them as a stall.
            guard let sample = source.migrationSample(name), sample.bandwidth > 0 || sample.ramRemaining > 0 else {
                if monotonicNow() - started > options.timeout { abort("timeout: no data moved for \(Int(options.timeout)) s") }
                continue
            }
            if appliedMs == nil { allow(policy.allowedMs) }
            let decision = policy.decide(sample)
            switch decision {
            case .abort(let reason): abort(reason)
            case .switchOver:
                note(decision.description)
                // QEMU switches over once its own estimate fits the limit: make room for the prediction.
                allow(min(options.maxDowntimeMs, max(policy.allowedMs, sample.predictedDowntimeMs * 1.25)))
            case .raiseDowntime, .keepCopying:
                if case .raiseDowntime = decision { note(decision.description) }
                allow(policy.allowedMs)
            }
        }
        return decisions
    }

    /// The error for a failed migration: libvirt's message, where the domain is, and whether the destination
    /// still has vGPUs it created (its hook releases them when the incoming domain goes).
    private func failure(_ error: any Error, domain name: String, devices: [MigratingVGPU], decisions: [String],
                         destination: () throws -> [NodeDevice]) -> VGPUError {
        let reason = (error as? VGPUError)?.message ?? "\(error)"
        let abort = decisions.last { $0.hasPrefix("abort:") }.map { " (vgpuctl aborted it: \($0.dropFirst("abort: ".count)))" } ?? ""
        var message = "the migration of domain \(name) to \(options.destination) failed\(abort): \(reason); domain \(name) keeps running here with its vGPUs"
        if let present = try? Set(destination().compactMap(\.uuid)) {
            let left = devices.filter { $0.created && present.contains($0.destinationUUID) && $0.destinationUUID != $0.sourceUUID }
            if !left.isEmpty {
                message += "; the destination still has vGPU \(left.map(\.destinationUUID.text).joined(separator: ", "))"
            }
        }
        return VGPUError(.libvirt, message,
                         fix: "see libvirt's message; on the destination, vgpuctl's hook must be installed ('vgpuctl install-hook', then restart libvirtd) to provide the vGPUs")
    }

    /// Removes the source's vGPUs (and definitions) once the domain runs on the destination. The source's own
    /// hook may have removed undefined ones already (`release end`, reason migrated).
    private func releaseSource(_ devices: [MigratingVGPU]) throws -> [String] {
        try application.run(ReleaseMigratedVGPUs(devices: devices))
    }

    private func reach(_ destination: () throws -> [NodeDevice]) throws -> [NodeDevice] {
        do { return try destination() } catch let error as VGPUError {
            throw VGPUError(error.kind, "could not read the destination's vGPU capacity at \(options.destination): \(error.message)",
                            fix: "check the URI and that libvirtd runs there (e.g. 'virsh -c \(options.destination) nodedev-list --cap mdev_types')")
        }
    }

    static func sleep(_ seconds: Double) { usleep(UInt32(max(0, seconds) * 1_000_000)) }
}
