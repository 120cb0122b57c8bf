import CLibvirt

/// The domain handles a connection has been given (by a list or a lookup), kept while it lives: a handle names
/// its domain by UUID, so reusing one spares libvirtd a lookup round trip (four per `create --vm`, each a few
/// milliseconds under TCG). Only `LibvirtConnection.withDomain` uses them; see there for a handle gone stale.
final class DomainHandles {
    private let api: LibvirtAPI
    private var kept: [(name: String, uuid: String, handle: virDomainPtr)] = []
    /// Handles found stale: freed only with the connection, since an enclosing call may still be using one.
    private var retired: [virDomainPtr] = []

    init(api: LibvirtAPI) { self.api = api }

    deinit {
        for handle in kept.map(\.handle) + retired { _ = api.virDomainFree(handle) }
    }

    func find(_ nameOrUUID: String) -> virDomainPtr? {
        kept.first { $0.name == nameOrUUID || $0.uuid == nameOrUUID }?.handle
    }

    /// Takes over the reference and returns the handle to use. A handle kept before for the same domain stays
    /// (it may be in use) and the new one is freed; one for the same name or UUID but another domain is retired.
    @discardableResult
    func keep(_ handle: virDomainPtr, name: String, uuid: String) -> virDomainPtr {
        if let same = kept.first(where: { $0.name == name && $0.uuid == uuid }) {
            _ = api.virDomainFree(handle)
            return same.handle
        }
        for old in kept where old.name == name || old.uuid == uuid { retired.append(old.handle) }
        kept.removeAll { $0.name == name || $0.uuid == uuid }
        kept.append((name, uuid, handle))
        return handle
    }

    func retire(_ handle: virDomainPtr) {
        guard let index = kept.firstIndex(where: { $0.handle == handle }) else { return }
        retired.append(kept.remove(at: index).handle)
    }
}
