import VGPUCore
import VGPUHost

/// The libvirt QEMU hook (`/etc/libvirt/hooks/qemu.d/vgpuctl`): libvirtd runs it for every domain operation as
/// `<hook> DOMAIN OPERATION SUB-OPERATION EXTRA` with the domain XML on stdin. It handles `prepare begin`
/// (provide every vGPU before QEMU starts) and `release end` (remove domain-lifetime vGPUs); every other
/// operation, and every domain without a vGPU, costs one read of stdin and exit 0.
public enum LibvirtHook {
    /// What libvirt passes; nil for an operation the hook does not handle.
    public enum Operation: Equatable, Sendable {
        case prepare, release

        public init?(arguments: [String]) {
            guard arguments.count >= 3 else { return nil }
            switch (arguments[1], arguments[2]) {
            case ("prepare", "begin"): self = .prepare
            case ("release", "end"): self = .release
            default: return nil
            }
        }
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

    /// Runs the hook: lock (short wait), read the host and the status files, plan, execute. Returns one line
    /// per action taken, for the log. Throws (with the message libvirt shows the user) when the domain must
    /// not start.
    /// `started`: when the hook process started (HookStatistics.now()), for the latency vgpud reports; the
    /// count is updated while the host lock is held, so concurrent hooks do not lose each other's runs.
    public static func run(_ operation: Operation, domainXML: String, host: HostContext, wait: Double, started: Double) throws -> [String] {
        let domain = try DomainDocument(xml: domainXML, what: "the domain XML libvirt passed to the hook")
        let name = domain.name ?? "?"
        let session = try HostSession(host: host, wait: wait, libvirt: LibvirtSettings(reachable: false),
                                      command: "vgpuctl-hook \(operation == .prepare ? "prepare" : "release") \(name)", recover: false)
        defer { withExtendedLifetime(session) { HookStatistics(host: host).record(milliseconds: (HookStatistics.now() - started) * 1000) } }
        let inventory = try host.inventory()
        let running = LibvirtStatusFiles(paths: host.paths, os: host.os).running().usage
        let plan: Plan
        switch operation {
        case .prepare: plan = try HookPlanner.prepare(domain, inventory: inventory, running: running, config: host.placementConfig())
        case .release: plan = HookPlanner.release(domain, inventory: inventory, running: running)
        }
        if !plan.steps.isEmpty { try session.execute(plan) }
        return plan.steps.map { "domain \(name): \($0.summary)" }
    }
}
