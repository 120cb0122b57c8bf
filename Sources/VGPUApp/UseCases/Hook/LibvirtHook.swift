import VGPUCore
import VGPUHost

/// The libvirt QEMU hook (`/etc/libvirt/hooks/qemu.d/vgpuctl`): libvirtd runs it for every domain operation as
/// `<hook> DOMAIN OPERATION SUB-OPERATION EXTRA [REASON]` with the domain XML on stdin. It handles
/// `prepare begin` (provide every vGPU before QEMU starts, and bind a persistent passthrough back to vfio-pci
/// after a reboot), `migrate begin` on a migration's destination
/// (provide the incoming domain's vGPUs; print the XML with renamed UUIDs where they are taken here) and
/// `release end` (remove domain-lifetime vGPUs, and what a failed incoming migration left; give back a
/// domain-lifetime passthrough, see PassthroughPlanner.releaseAtDomainEnd); every other
/// operation, and every domain without a vGPU, costs one read of stdin and exit 0.
public struct LibvirtHook: ChangeUseCase {
    /// What libvirt passes; nil for an operation the hook does not handle.
    public enum Operation: Equatable, Sendable {
        case prepare, migrate
        case release(HookPlanner.ReleaseReason)

        public init?(arguments: [String]) {
            guard arguments.count >= 3 else { return nil }
            switch (arguments[1], arguments[2]) {
            case ("prepare", "begin"): self = .prepare
            case ("migrate", "begin"): self = .migrate
            case ("release", "end"): self = .release(HookPlanner.ReleaseReason(argument: arguments.count > 3 ? arguments[3] : nil))
            default: return nil
            }
        }

        var label: String {
            switch self {
            case .prepare: return "prepare"
            case .migrate: return "migrate"
            case .release: return "release"
            }
        }
    }

    /// What a run did: one line per action for the log, and for `migrate begin` the XML libvirt should use
    /// (nil: use the incoming XML unchanged, which libvirt does on empty output).
    public struct Outcome: Equatable, Sendable {
        public var actions: [String]
        public var xml: String?
        /// What the hook chose not to do, and why (a held vGPU `release` kept): logged and printed on stderr.
        public var warnings: [String] = []
        /// How long the run waited for the host lock, in milliseconds (logged with each run that took it).
        public var lockWaitMilliseconds: Double = 0
    }

    /// Whether stdin can name a vGPU at all: without the bytes `hostdev` or vgpuctl's namespace no element the
    /// hook acts on can exist, so the common case (a domain without vGPUs) never parses XML or takes the lock.
    public static func mayConcernVGPUs(_ xml: [UInt8]) -> Bool {
        contains(xml, Array("hostdev".utf8)) || contains(xml, Array(VGPUMetadata.namespace.utf8))
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        var index = 0
        while index <= haystack.count - needle.count {
            if haystack[index] == needle[0], haystack[index..<index + needle.count].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }

    public let operation: Operation
    public let domainXML: String
    let domain: DomainDocument
    let name: String
    /// When the hook process started (monotonicNow()), for the latency vgpud reports.
    let started: Double
    let wait: Double
    let writeBound: Double

    /// Runs the hook: lock (short wait), read the host and the status files, plan, execute. Throws (with the
    /// message libvirt shows the user) when the domain must not start or migrate in.
    /// `started`: when the hook process started (monotonicNow()), for the latency vgpud reports; the
    /// count is updated while the host lock is held, so concurrent hooks do not lose each other's runs.
    /// `writeBound`: seconds a write to a vGPU's `remove` may take before the hook gives it up (fails closed:
    /// prepare refuses the start; release logs a warning), so a kernel that blocks it never blocks libvirtd.
    public init(_ operation: Operation, domainXML: String, wait: Double, started: Double, writeBound: Double = 10) throws {
        self.operation = operation
        self.domainXML = domainXML
        domain = try DomainDocument(xml: domainXML, what: "the domain XML libvirt passed to the hook")
        name = domain.name ?? "?"
        self.started = started
        self.wait = wait
        self.writeBound = writeBound
    }

    /// No recovery (it could need libvirt, which the hook must never call), the hook's short lock wait, and
    /// bounded writes.
    public var sessionOptions: SessionOptions {
        SessionOptions(recover: false, reachesLibvirt: false, writeBound: writeBound, lockWait: wait,
                       command: "vgpuctl-hook \(operation.label) \(name)")
    }

    public func run(in session: Session) throws -> Outcome {
        let environment = session.environment
        defer { HookStatistics(environment: environment).record(milliseconds: (monotonicNow() - started) * 1000) }
        let inventory = try environment.inventory()
        // In use: what this libvirtd's status files say runs, and what the kernel says any process holds (a
        // QEMU of another libvirtd or started by hand is only in the latter), read once for the whole run.
        let running = LibvirtStatusFiles(paths: environment.paths, os: environment.os).running().usage
        let held = DeviceHolders(paths: environment.paths, os: environment.os).held(in: inventory)
        let incoming = IncomingRecord(environment: environment, domain: name)
        var xml: String?
        var warnings: [String] = []
        var rebind: Plan?
        let plan: Plan
        switch operation {
        case .prepare:
            plan = try HookPlanner.prepare(domain, inventory: inventory, running: running, held: held, config: environment.placementConfig())
            // Decided before anything runs, so that a refusal of either changes nothing.
            rebind = try rebindPassthrough(environment)
        case .migrate:
            let inUse = domain.mdevUUIDs.filter { running[.mdev($0)] != nil }
            let decided = try MigrationPlanner.incoming(domain, inventory: inventory, inUse: Set(inUse), held: held,
                                                        config: environment.placementConfig(), freshUUID: LibUUID.random)
            plan = decided.plan
            if !decided.renames.isEmpty {
                xml = try DomainEdits.renamingVGPUs(in: domainXML, decided.renames, what: "the incoming XML of domain \(name)")
            }
            // Recorded before anything is created: a crash in between leaves a record of nothing that exists.
            try incoming.write(decided.devices.filter(\.created).map(\.destinationUUID))
        case .release(let reason):
            let decision = HookPlanner.releaseDecision(domain, inventory: inventory, running: running, held: held, reason: reason,
                                                       incoming: incoming.read())
            // A --live-only passthrough (domain lifetime) ends with this run: libvirt dropped its hostdev with the
            // QEMU that used it, so its functions go back to their drivers.
            let passthrough = PassthroughPlanner.releaseAtDomainEnd(domain: name, records: PassthroughRecords(paths: environment.paths, os: environment.os).all())
            plan = Plan(operation: decision.plan.operation, steps: decision.plan.steps + passthrough.steps, recovery: decision.plan.recovery)
            warnings = decision.warnings
        }
        if let rebind, !rebind.steps.isEmpty { try session.execute(rebind) }
        if !plan.steps.isEmpty { try session.execute(plan) }
        if case .release = operation { try incoming.remove() }
        return Outcome(actions: ((rebind?.steps ?? []) + plan.steps).map { "domain \(name): \($0.summary)" }, xml: xml, warnings: warnings,
                       lockWaitMilliseconds: session.lockWait * 1000)
    }

    /// A persistent passthrough of this domain back on vfio-pci (after a reboot), as a plan of its own that a
    /// crash finishes rather than undoes: undoing a bind drops the function's record, and the record is what
    /// brings the passthrough back. The PCI state is read only when a record names the domain, so a domain
    /// without one pays one directory listing.
    private func rebindPassthrough(_ environment: Environment) throws -> Plan {
        let binding = PCIDriverBinding(paths: environment.paths, os: environment.os)
        let records = binding.records.all()
        guard records.contains(where: { $0.domain == name && $0.lifetime == .persistent }) else { return Plan(operation: "", steps: []) }
        let host = try PCIDeviceReader(paths: environment.paths, os: environment.os).host()
        return Plan(operation: "bind domain \(name)'s passed-through GPU to vfio-pci again",
                    steps: try PassthroughPlanner.rebindAtDomainStart(domain, records: records, host: host, vfioLoaded: binding.vfioLoaded),
                    recovery: .rollForward)
    }
}
