#if canImport(Glibc)
import Glibc
#endif
import CLibvirt
import VGPUCore

/// The libvirt C API (loaded on first use: see `LibvirtAPI`). Errors keep libvirt's own message inside ours.
public final class LibvirtConnection: Hypervisor {
    let api: LibvirtAPI
    let connection: virConnectPtr
    public let uri: String
    private let handles: DomainHandles
    private let debugging: Bool

    /// `uri`: as resolved by the caller (vgpuctl: `--connect`, else `LIBVIRT_DEFAULT_URI`, else `qemu:///system`).
    /// `debug`: say on stderr how a detach's wait ended (the VM tier checks that the event path is taken).
    public init(uri: String, debug: Bool = false) throws {
        let api = try LibvirtAPI.load()
        self.api = api
        self.debugging = debug
        let chosen = uri
        // libvirt prints errors to stderr by default; we report them ourselves.
        api.virSetErrorFunc(nil) { _, _ in }
        _ = Self.eventLoopRegistered
        guard let connection = api.virConnectOpen(chosen) else {
            throw Self.error(api, .libvirt, "could not connect to libvirt at \(chosen)",
                             fix: "start libvirtd (systemctl start libvirtd), or pass --connect URI / LIBVIRT_DEFAULT_URI")
        }
        self.connection = connection
        self.uri = chosen
        handles = DomainHandles(api: api)
        // The event loop runs only while a detach waits; keepalive pings unanswered in between would make a
        // remote daemon drop the connection. (Drivers without keepalive refuse this; that is fine.)
        _ = api.virConnectSetKeepAlive(connection, -1, 0)
    }

    /// libvirt delivers domain events only to a process that registered an event loop before connecting.
    private static let eventLoopRegistered: Void = { _ = try? LibvirtAPI.load().virEventRegisterDefaultImpl() }()

    deinit { _ = api.virConnectClose(connection) }

    public func domain(_ nameOrUUID: String) throws -> DomainInfo {
        try withDomain(nameOrUUID, info)
    }

    /// Three calls however many domains there are: which run and which start with libvirtd come from filtered
    /// lists, not from two more calls per domain.
    public func domains() throws -> [DomainInfo] {
        let active = try listed(VIR_CONNECT_LIST_DOMAINS_ACTIVE.rawValue).map(\.uuid)
        let autostart = try listed(VIR_CONNECT_LIST_DOMAINS_AUTOSTART.rawValue).map(\.uuid)
        return try listed(0, keepingHandles: true).map {
            DomainInfo(name: $0.name, uuid: $0.uuid, isActive: active.contains($0.uuid), autostart: autostart.contains($0.uuid))
        }
    }

    /// `keepingHandles`: the handles go to `handles`, so the calls that follow need no lookup.
    private func listed(_ flags: UInt32, keepingHandles: Bool = false) throws -> [(name: String, uuid: String)] {
        var list: UnsafeMutablePointer<virDomainPtr?>?
        let count = api.virConnectListAllDomains(connection, &list, flags)
        guard count >= 0, let list else { throw Self.error(api, .libvirt, "could not list domains on \(uri)") }
        defer { free(list) }
        return (0..<Int(count)).compactMap { list[$0] }.map { handle in
            let (name, uuid) = identity(handle)
            if keepingHandles { handles.keep(handle, name: name, uuid: uuid) } else { _ = api.virDomainFree(handle) }
            return (name, uuid)
        }
    }

    public func xml(of domain: String, inactive: Bool) throws -> String {
        try withDomain(domain) { handle in
            let flags = inactive ? UInt32(VIR_DOMAIN_XML_INACTIVE.rawValue) : 0
            guard let text = api.virDomainGetXMLDesc(handle, flags) else {
                throw Self.error(api, .libvirt, "could not read the XML of domain \(domain)")
            }
            defer { free(text) }
            return String(cString: text)
        }
    }

    public func attach(_ xml: String, to domain: String, scope: AttachScope) throws {
        try withDomain(domain) { handle in
            guard api.virDomainAttachDeviceFlags(handle, xml, Self.flags(scope)) == 0 else {
                throw Self.error(api, .libvirt, "libvirt refused to attach the vGPU to domain \(domain) (\(scope.label))",
                                 fix: "check the domain's definition ('virsh dumpxml \(domain)') and libvirtd's log")
            }
        }
    }

    public func detach(_ xml: String, from domain: String, scope: AttachScope, timeout: Double) throws {
        try withDomain(domain) { try detach(xml, from: domain, handle: $0, scope: scope, timeout: timeout) }
    }

    private func detach(_ xml: String, from domain: String, handle: virDomainPtr, scope: AttachScope, timeout: Double) throws {
        // Subscribe before asking: the guest may answer at once.
        let source = try DomainDocument.source(ofHostdev: xml)
        let alias = scope.contains(.live)
            ? try DomainDocument(xml: try self.xml(of: domain, inactive: false), what: "the live XML of domain \(domain)").alias(of: source) : nil
        let events = try alias.map { _ in try RemovalEvents(api: api, connection: connection, domain: handle) }
        defer { events?.close() }
        guard api.virDomainDetachDeviceFlags(handle, xml, Self.flags(scope)) == 0 else {
            throw Self.error(api, .libvirt, "libvirt refused to detach the vGPU from domain \(domain) (\(scope.label))")
        }
        guard scope.contains(.live) else { return }
        // A live unplug completes only when the guest answers the ACPI request: wait, boundedly, for libvirt's
        // device-removed event (and look at the live XML too, in case libvirt finished it before returning).
        let deadline = monotonicNow() + timeout
        while true {
            // Deliver what libvirt has sent first: if the guest answered during libvirt's own short wait inside
            // the detach call, the event is already queued.
            if let events { events.wait(milliseconds: 200) } else { usleep(200_000) }
            if let alias, let events {
                if events.removed.contains(alias) {
                    debug("device-removed event for \(alias) of domain \(domain)")
                    return
                }
                if events.failed.contains(alias) {
                    throw VGPUError(.busy, "the guest of domain \(domain) refused to release the vGPU (device \(alias)); it stays attached",
                                    fix: "check the guest's kernel log; shut the domain down to detach it")
                }
            }
            if !stillPresent(source, in: domain) {
                // Gone already (libvirt's own wait inside the detach call saw the guest answer): its event is on
                // the way; give it a moment so the event stays the signal, the live XML only the fallback.
                if let alias, let events {
                    let grace = monotonicNow() + 5
                    while !events.removed.contains(alias) && monotonicNow() < grace { events.wait(milliseconds: 200) }
                    if events.removed.contains(alias) {
                        debug("device-removed event for \(alias) of domain \(domain)")
                        return
                    }
                }
                debug("the vGPU left domain \(domain)'s live XML (no device-removed event within 5 s)")
                return
            }
            if monotonicNow() >= deadline { break }
        }
        throw VGPUError(.busy, "the guest of domain \(domain) has not released the vGPU after \(Int(timeout)) s; it stays attached",
                        fix: "make sure the guest OS handles ACPI hot-unplug, then run 'vgpuctl detach' again (or shut the domain down)")
    }

    private func debug(_ message: String) {
        guard debugging else { return }
        let line = Array("vgpuctl: debug: \(message)\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

    private func stillPresent(_ source: HostdevSource, in domain: String) -> Bool {
        guard let live = try? self.xml(of: domain, inactive: false),
              let document = try? DomainDocument(xml: live, what: "the live XML of domain \(domain)") else { return false }
        return document.references(source)
    }

    public func setMetadata(_ element: String?, namespace: String, prefix: String, domain: String, scope: AttachScope) throws {
        try withDomain(domain) { handle in
            let type = Int32(VIR_DOMAIN_METADATA_ELEMENT.rawValue)
            guard api.virDomainSetMetadata(handle, type, element, element == nil ? nil : prefix, namespace, Self.flags(scope)) == 0 else {
                throw Self.error(api, .libvirt, "libvirt refused to change vgpuctl's metadata of domain \(domain) (\(scope.label))")
            }
        }
    }

    public func define(_ xml: String) throws {
        guard let handle = api.virDomainDefineXML(connection, xml) else {
            throw Self.error(api, .libvirt, "libvirt refused the domain definition", fix: "see libvirt's message")
        }
        _ = api.virDomainFree(handle)
    }

    /// libvirt's node devices with the mdev capability (vGPUs, running or only defined through mdevctl) and
    /// the mdev_types capability (parents).
    public func nodeDevices() throws -> [NodeDevice] {
        var list: UnsafeMutablePointer<virNodeDevicePtr?>?
        let flags = UInt32(VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV.rawValue | VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV_TYPES.rawValue)
        let count = api.virConnectListAllNodeDevices(connection, &list, flags)
        guard count >= 0, let list else {
            throw Self.error(api, .libvirt, "could not list node devices on \(uri)", fix: "is libvirt's node device driver (virtnodedevd) running?")
        }
        defer {
            for index in 0..<Int(count) { if let device = list[index] { _ = api.virNodeDeviceFree(device) } }
            free(list)
        }
        return try (0..<Int(count)).compactMap { list[$0] }.compactMap { device in
            guard let text = api.virNodeDeviceGetXMLDesc(device, 0) else { return nil }
            defer { free(text) }
            return try NodeDeviceXML.parse(String(cString: text), active: api.virNodeDeviceIsActive(device) == 1)
        }.sorted { $0.name < $1.name }
    }

    // MARK: helpers

    /// Runs `body` on the domain's handle: a kept one (see DomainHandles) when there is one, else a fresh lookup,
    /// then kept. A kept handle whose domain has gone since (undefined, or undefined and defined anew under a new
    /// UUID) fails with VIR_ERR_NO_DOMAIN; `body` then runs once more on a fresh lookup, whose failure is
    /// vgpuctl's own "no libvirt domain named". (libvirt resets its last error as each call begins, so the code
    /// read here is the failed call's.)
    func withDomain<Result>(_ nameOrUUID: String, _ body: (virDomainPtr) throws -> Result) throws -> Result {
        if let handle = handles.find(nameOrUUID) {
            do { return try body(handle) } catch where api.virGetLastErrorCode() == Int32(VIR_ERR_NO_DOMAIN.rawValue) {
                handles.retire(handle)
            }
        }
        let fresh = try lookup(nameOrUUID)
        let (name, uuid) = identity(fresh)
        return try body(handles.keep(fresh, name: name, uuid: uuid))
    }

    func lookup(_ nameOrUUID: String) throws -> virDomainPtr {
        if let handle = api.virDomainLookupByName(connection, nameOrUUID) { return handle }
        if DeviceUUID.looksLikeUUID(nameOrUUID), let handle = api.virDomainLookupByUUIDString(connection, nameOrUUID) { return handle }
        throw Self.error(api, .notFound, "no libvirt domain named '\(Validation.printable(nameOrUUID))' on \(uri)",
                         fix: "see 'virsh list --all' for the domains, or check --connect")
    }

    /// Name and UUID: both are kept in the handle, so this asks libvirtd nothing.
    private func identity(_ handle: virDomainPtr) -> (name: String, uuid: String) {
        var uuid = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
        _ = api.virDomainGetUUIDString(handle, &uuid)
        let name = api.virDomainGetName(handle).map { String(cString: $0) } ?? "?"
        return (name, String(decoding: uuid.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    private func info(_ handle: virDomainPtr) throws -> DomainInfo {
        let (name, uuid) = identity(handle)
        var autostart: Int32 = 0
        _ = api.virDomainGetAutostart(handle, &autostart)
        // -1: the domain has gone since the handle was made (withDomain then looks it up afresh).
        let active = api.virDomainIsActive(handle)
        guard active >= 0 else { throw Self.error(api, .libvirt, "could not read the state of domain \(name)") }
        return DomainInfo(name: name, uuid: uuid, isActive: active == 1, autostart: autostart == 1)
    }

    private static func flags(_ scope: AttachScope) -> UInt32 {
        var flags: UInt32 = 0
        if scope.contains(.config) { flags |= UInt32(VIR_DOMAIN_AFFECT_CONFIG.rawValue) }
        if scope.contains(.live) { flags |= UInt32(VIR_DOMAIN_AFFECT_LIVE.rawValue) }
        return flags
    }

    /// Our error, with libvirt's last error message appended verbatim.
    static func error(_ api: LibvirtAPI, _ kind: VGPUError.Kind, _ message: String, fix: String = "") -> VGPUError {
        let detail = api.virGetLastErrorMessage().map { String(cString: $0) } ?? "unknown libvirt error"
        return VGPUError(kind, "\(message): \(detail)", fix: fix)
    }
}

/// Subscriptions to one domain's device-removed and device-removal-failed events, collecting the aliases.
final class RemovalEvents {
    private(set) var removed: Set<String> = []
    private(set) var failed: Set<String> = []
    let api: LibvirtAPI
    let connection: virConnectPtr
    private var callbackIDs: [Int32] = []
    private var timer: Int32 = -1

    init(api: LibvirtAPI, connection: virConnectPtr, domain: virDomainPtr) throws {
        self.api = api
        self.connection = connection
        // Both events share the callback shape (connection, domain, alias, opaque); opaque says which set.
        let onEvent: @convention(c) (virConnectPtr?, virDomainPtr?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = { _, _, alias, opaque in
            guard let alias, let opaque else { return }
            let slot = Unmanaged<EventSlot>.fromOpaque(opaque).takeUnretainedValue()
            slot.owner?.record(String(cString: alias), failed: slot.failed)
        }
        let generic = unsafeBitCast(onEvent, to: virConnectDomainEventGenericCallback.self)
        for (event, failed) in [(VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, false), (VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED, true)] {
            let slot = Unmanaged.passRetained(EventSlot(owner: self, failed: failed)).toOpaque()
            let id = api.virConnectDomainEventRegisterAny(connection, domain, Int32(event.rawValue), generic, slot) { opaque in
                if let opaque { Unmanaged<EventSlot>.fromOpaque(opaque).release() }
            }
            guard id >= 0 else {
                Unmanaged<EventSlot>.fromOpaque(slot).release()
                close()
                throw LibvirtConnection.error(api, .libvirt, "could not subscribe to device-removed events")
            }
            callbackIDs.append(id)
        }
        // A periodic timer bounds each turn of the event loop.
        timer = api.virEventAddTimeout(100, { _, _ in }, nil, nil)
    }

    fileprivate func record(_ alias: String, failed isFailure: Bool) {
        if isFailure { failed.insert(alias) } else { removed.insert(alias) }
    }

    /// Runs libvirt's event loop for about `milliseconds`, delivering events to the sets above.
    func wait(milliseconds: Int) {
        let deadline = monotonicNow() + Double(milliseconds) / 1000
        while monotonicNow() < deadline { _ = api.virEventRunDefaultImpl() }
    }

    func close() {
        for id in callbackIDs { _ = api.virConnectDomainEventDeregisterAny(connection, id) }
        callbackIDs = []
        if timer >= 0 { _ = api.virEventRemoveTimeout(timer); timer = -1 }
    }
}

private final class EventSlot {
    weak var owner: RemovalEvents?
    let failed: Bool
    init(owner: RemovalEvents, failed: Bool) {
        self.owner = owner
        self.failed = failed
    }
}
