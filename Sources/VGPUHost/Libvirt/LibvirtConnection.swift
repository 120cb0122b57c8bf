#if canImport(Glibc)
import Glibc
#endif
import CLibvirt
import VGPUCore

/// The libvirt C API. Errors keep libvirt's own message inside ours.
public final class LibvirtConnection: Hypervisor {
    private let connection: virConnectPtr
    public let uri: String

    /// `uri` nil: `LIBVIRT_DEFAULT_URI`, else `qemu:///system`.
    public init(uri: String?) throws {
        let chosen = uri ?? getenv("LIBVIRT_DEFAULT_URI").map { String(cString: $0) } ?? "qemu:///system"
        // libvirt prints errors to stderr by default; we report them ourselves.
        virSetErrorFunc(nil) { _, _ in }
        guard let connection = virConnectOpen(chosen) else {
            throw Self.error(.libvirt, "could not connect to libvirt at \(chosen)",
                             fix: "start libvirtd (systemctl start libvirtd), or pass --connect URI / LIBVIRT_DEFAULT_URI")
        }
        self.connection = connection
        self.uri = chosen
    }

    deinit { virConnectClose(connection) }

    public func domain(_ nameOrUUID: String) throws -> DomainInfo {
        let handle = try lookup(nameOrUUID)
        defer { virDomainFree(handle) }
        return try info(handle)
    }

    public func domains() throws -> [DomainInfo] {
        var list: UnsafeMutablePointer<virDomainPtr?>?
        let count = virConnectListAllDomains(connection, &list, 0)
        guard count >= 0, let list else { throw Self.error(.libvirt, "could not list domains on \(uri)") }
        defer {
            for index in 0..<Int(count) { if let domain = list[index] { virDomainFree(domain) } }
            free(list)
        }
        return try (0..<Int(count)).compactMap { list[$0] }.map(info)
    }

    public func xml(of domain: String, inactive: Bool) throws -> String {
        let handle = try lookup(domain)
        defer { virDomainFree(handle) }
        let flags = inactive ? UInt32(VIR_DOMAIN_XML_INACTIVE.rawValue) : 0
        guard let text = virDomainGetXMLDesc(handle, flags) else {
            throw Self.error(.libvirt, "could not read the XML of domain \(domain)")
        }
        defer { free(text) }
        return String(cString: text)
    }

    public func attach(_ xml: String, to domain: String, scope: AttachScope) throws {
        let handle = try lookup(domain)
        defer { virDomainFree(handle) }
        guard virDomainAttachDeviceFlags(handle, xml, Self.flags(scope)) == 0 else {
            throw Self.error(.libvirt, "libvirt refused to attach the vGPU to domain \(domain) (\(scope.label))",
                             fix: "check the domain's definition ('virsh dumpxml \(domain)') and libvirtd's log")
        }
    }

    public func detach(_ xml: String, from domain: String, scope: AttachScope, timeout: Double) throws {
        let handle = try lookup(domain)
        defer { virDomainFree(handle) }
        guard virDomainDetachDeviceFlags(handle, xml, Self.flags(scope)) == 0 else {
            throw Self.error(.libvirt, "libvirt refused to detach the vGPU from domain \(domain) (\(scope.label))")
        }
        guard scope.contains(.live) else { return }
        // A live unplug completes only when the guest answers the ACPI request: wait, boundedly, for the device
        // to leave the live definition (libvirt removes it on the device-removed event).
        let wanted = DomainXML.mdevUUIDs(in: xml).first
        let wantedPCI = DomainXML.pciAddresses(in: xml).first
        let deadline = Self.now() + timeout
        repeat {
            let live = try self.xml(of: domain, inactive: false)
            let present = wanted.map { DomainXML.mdevUUIDs(in: live).contains($0) } ?? false
                || wantedPCI.map { DomainXML.pciAddresses(in: live).contains($0) } ?? false
            if !present { return }
            usleep(200_000)
        } while Self.now() < deadline
        throw VGPUError(.busy, "the guest of domain \(domain) has not released the vGPU after \(Int(timeout)) s; it stays attached",
                        fix: "make sure the guest OS handles ACPI hot-unplug, then run 'vgpuctl detach' again (or shut the domain down)")
    }

    // MARK: helpers

    private func lookup(_ nameOrUUID: String) throws -> virDomainPtr {
        if let handle = virDomainLookupByName(connection, nameOrUUID) { return handle }
        if DeviceUUID.looksLikeUUID(nameOrUUID), let handle = virDomainLookupByUUIDString(connection, nameOrUUID) { return handle }
        throw Self.error(.notFound, "no libvirt domain named '\(Validation.printable(nameOrUUID))' on \(uri)",
                         fix: "see 'virsh list --all' for the domains, or check --connect")
    }

    private func info(_ handle: virDomainPtr) throws -> DomainInfo {
        var uuid = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
        _ = virDomainGetUUIDString(handle, &uuid)
        let name = virDomainGetName(handle).map { String(cString: $0) } ?? "?"
        return DomainInfo(name: name, uuid: String(decoding: uuid.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
                          isActive: virDomainIsActive(handle) == 1)
    }

    private static func flags(_ scope: AttachScope) -> UInt32 {
        var flags: UInt32 = 0
        if scope.contains(.config) { flags |= UInt32(VIR_DOMAIN_AFFECT_CONFIG.rawValue) }
        if scope.contains(.live) { flags |= UInt32(VIR_DOMAIN_AFFECT_LIVE.rawValue) }
        return flags
    }

    /// Our error, with libvirt's last error message appended verbatim.
    static func error(_ kind: VGPUError.Kind, _ message: String, fix: String = "") -> VGPUError {
        let detail = virGetLastErrorMessage().map { String(cString: $0) } ?? "unknown libvirt error"
        return VGPUError(kind, "\(message): \(detail)", fix: fix)
    }

    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
