import VGPUCore

/// A `Hypervisor` that answers repeated reads from what it has already read, for the span of one operation
/// under the host lock (a `Session`), and forgets what a change made through it can have changed.
///
/// Why: every read is a round trip to libvirtd, and one operation asks for the same domain's lookup, state and
/// definition several times (the usage scan, the domain check, NUMA pinning, each step's idempotency check; the
/// README's start-up section has the counts). Scoped to one session, a cached answer is never older than the
/// operation that uses it, and a change made by the operation itself is never hidden from its next step.
public final class SessionReads: Hypervisor {
    public let base: Hypervisor
    private var listed: [DomainInfo]?
    // Plain arrays searched in order: a session reads a few domains a few times, or (reconcile) each domain once;
    // no hashing, and none of the runtime's conformance lookups that a String-keyed dictionary costs at start-up.
    private var looked: [(key: String, info: DomainInfo)] = []
    private var documents: [(domain: String, inactive: Bool, xml: String)] = []

    public init(_ base: Hypervisor) { self.base = base }

    public func domains() throws -> [DomainInfo] {
        if let listed { return listed }
        let fresh = try base.domains()
        listed = fresh
        return fresh
    }

    public func domain(_ nameOrUUID: String) throws -> DomainInfo {
        if let known = looked.first(where: { $0.key == nameOrUUID })?.info
            ?? listed?.first(where: { $0.name == nameOrUUID || $0.uuid == nameOrUUID }) {
            return known
        }
        let fresh = try base.domain(nameOrUUID)
        looked.append((nameOrUUID, fresh))
        return fresh
    }

    public func xml(of domain: String, inactive: Bool) throws -> String {
        if let known = documents.first(where: { $0.domain == domain && $0.inactive == inactive }) { return known.xml }
        let fresh = try base.xml(of: domain, inactive: inactive)
        documents.append((domain, inactive, fresh))
        return fresh
    }

    // Changes: forwarded, and what they can have changed is forgotten, whether they succeeded or not (a failed
    // call may still have changed something). A device or metadata change touches only that domain's XML; its
    // state and the list of domains stay as they were.

    public func attach(_ xml: String, to domain: String, scope: AttachScope) throws {
        defer { forget(domain) }
        try base.attach(xml, to: domain, scope: scope)
    }

    public func detach(_ xml: String, from domain: String, scope: AttachScope, timeout: Double) throws {
        // A live detach waits for the guest, up to `timeout`: anything may have changed meanwhile.
        defer { if scope.contains(.live) { forget() } else { forget(domain) } }
        try base.detach(xml, from: domain, scope: scope, timeout: timeout)
    }

    public func setMetadata(_ element: String?, namespace: String, prefix: String, domain: String, scope: AttachScope) throws {
        defer { forget(domain) }
        try base.setMetadata(element, namespace: namespace, prefix: prefix, domain: domain, scope: scope)
    }

    /// A definition may add a domain or rename one: everything is forgotten.
    public func define(_ xml: String) throws {
        defer { forget() }
        try base.define(xml)
    }

    /// Drops every cached answer.
    public func forget() {
        listed = nil
        looked = []
        documents = []
    }

    /// Drops the cached XML of one domain, under its name and its UUID alike.
    private func forget(_ domain: String) {
        let known = (listed ?? []) + looked.map(\.info)
        let aliases = [domain] + known.filter { $0.name == domain || $0.uuid == domain }.flatMap { [$0.name, $0.uuid] }
        documents.removeAll { aliases.contains($0.domain) }
    }
}
