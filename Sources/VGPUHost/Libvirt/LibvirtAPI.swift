#if canImport(Glibc)
import Glibc
#endif
import CLibvirt
import VGPUCore

/// The libvirt C functions vgpuctl calls, resolved from `libvirt.so.0` with dlopen/dlsym on first use.
///
/// Why not link libvirt: linking it makes the dynamic loader map and relocate libvirt and its ~55 dependencies
/// (glib, gnutls, curl, krb5, ldap, ICU, ...) at every start, also for the many commands that never talk to
/// libvirt (`types`, `list`, `--help`, udev and timer runs): most of a short command's fixed cost. `CLibvirt`
/// provides the headers (types and constants) and links nothing.
///
/// Adding a function is one line: a property named exactly as the C function, typed as its C signature (as
/// Swift imports it), initialised with `symbol("name")`. Callers then write `api.virFoo(...)`. Every symbol is
/// resolved when the table is loaded, so a missing one is reported there, never as a crash later.
public struct LibvirtAPI: @unchecked Sendable {
    public typealias Str = UnsafePointer<CChar>?
    public typealias Conn = virConnectPtr?
    public typealias Dom = virDomainPtr?

    // MARK: errors and the event loop
    public let virGetLastErrorMessage: (@convention(c) () -> Str)! = symbol("virGetLastErrorMessage")
    public let virGetLastErrorCode: (@convention(c) () -> Int32)! = symbol("virGetLastErrorCode")
    public let virSetErrorFunc: (@convention(c) (UnsafeMutableRawPointer?, virErrorFunc?) -> Void)! = symbol("virSetErrorFunc")
    public let virEventRegisterDefaultImpl: (@convention(c) () -> Int32)! = symbol("virEventRegisterDefaultImpl")
    public let virEventRunDefaultImpl: (@convention(c) () -> Int32)! = symbol("virEventRunDefaultImpl")
    public let virEventAddTimeout: (@convention(c) (Int32, virEventTimeoutCallback?, UnsafeMutableRawPointer?, virFreeCallback?) -> Int32)! = symbol("virEventAddTimeout")
    public let virEventRemoveTimeout: (@convention(c) (Int32) -> Int32)! = symbol("virEventRemoveTimeout")

    // MARK: versions
    public let virGetVersion: (@convention(c) (UnsafeMutablePointer<UInt>?, Str, UnsafeMutablePointer<UInt>?) -> Int32)! = symbol("virGetVersion")
    public let virConnectGetLibVersion: (@convention(c) (Conn, UnsafeMutablePointer<UInt>?) -> Int32)! = symbol("virConnectGetLibVersion")

    // MARK: connections
    public let virConnectOpen: (@convention(c) (Str) -> Conn)! = symbol("virConnectOpen")
    public let virConnectClose: (@convention(c) (Conn) -> Int32)! = symbol("virConnectClose")
    public let virConnectSetKeepAlive: (@convention(c) (Conn, Int32, UInt32) -> Int32)! = symbol("virConnectSetKeepAlive")
    public let virConnectDomainEventRegisterAny: (@convention(c) (Conn, Dom, Int32, virConnectDomainEventGenericCallback?, UnsafeMutableRawPointer?, virFreeCallback?) -> Int32)! = symbol("virConnectDomainEventRegisterAny")
    public let virConnectDomainEventDeregisterAny: (@convention(c) (Conn, Int32) -> Int32)! = symbol("virConnectDomainEventDeregisterAny")

    // MARK: domains
    public let virConnectListAllDomains: (@convention(c) (Conn, UnsafeMutablePointer<UnsafeMutablePointer<virDomainPtr?>?>?, UInt32) -> Int32)! = symbol("virConnectListAllDomains")
    public let virDomainLookupByName: (@convention(c) (Conn, Str) -> Dom)! = symbol("virDomainLookupByName")
    public let virDomainLookupByUUIDString: (@convention(c) (Conn, Str) -> Dom)! = symbol("virDomainLookupByUUIDString")
    public let virDomainFree: (@convention(c) (Dom) -> Int32)! = symbol("virDomainFree")
    public let virDomainGetName: (@convention(c) (Dom) -> Str)! = symbol("virDomainGetName")
    public let virDomainGetUUIDString: (@convention(c) (Dom, UnsafeMutablePointer<CChar>?) -> Int32)! = symbol("virDomainGetUUIDString")
    public let virDomainIsActive: (@convention(c) (Dom) -> Int32)! = symbol("virDomainIsActive")
    public let virDomainGetXMLDesc: (@convention(c) (Dom, UInt32) -> UnsafeMutablePointer<CChar>?)! = symbol("virDomainGetXMLDesc")
    public let virDomainAttachDeviceFlags: (@convention(c) (Dom, Str, UInt32) -> Int32)! = symbol("virDomainAttachDeviceFlags")
    public let virDomainDetachDeviceFlags: (@convention(c) (Dom, Str, UInt32) -> Int32)! = symbol("virDomainDetachDeviceFlags")
    /// (domain, type, uri, flags): the metadata element or text, to be freed.
    public let virDomainGetMetadata: (@convention(c) (Dom, Int32, Str, UInt32) -> UnsafeMutablePointer<CChar>?)! = symbol("virDomainGetMetadata")
    public let virDomainGetAutostart: (@convention(c) (Dom, UnsafeMutablePointer<Int32>?) -> Int32)! = symbol("virDomainGetAutostart")
    /// (domain, type, metadata, key, uri, flags).
    public let virDomainSetMetadata: (@convention(c) (Dom, Int32, Str, Str, Str, UInt32) -> Int32)! = symbol("virDomainSetMetadata")

    public let virDomainDefineXML: (@convention(c) (Conn, Str) -> Dom)! = symbol("virDomainDefineXML")

    // MARK: migration
    /// (domain, destination connection URI, params, nparams, flags): peer-to-peer, so the source daemon reaches the destination.
    public let virDomainMigrateToURI3: (@convention(c) (Dom, Str, virTypedParameterPtr?, UInt32, UInt32) -> Int32)! = symbol("virDomainMigrateToURI3")
    public let virDomainGetJobStats: (@convention(c) (Dom, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<virTypedParameterPtr?>?, UnsafeMutablePointer<Int32>?, UInt32) -> Int32)! = symbol("virDomainGetJobStats")
    public let virDomainMigrateSetMaxDowntime: (@convention(c) (Dom, UInt64, UInt32) -> Int32)! = symbol("virDomainMigrateSetMaxDowntime")
    public let virDomainAbortJob: (@convention(c) (Dom) -> Int32)! = symbol("virDomainAbortJob")
    public let virTypedParamsAddString: (@convention(c) (UnsafeMutablePointer<virTypedParameterPtr?>?, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?, Str, Str) -> Int32)! = symbol("virTypedParamsAddString")
    public let virTypedParamsGetULLong: (@convention(c) (virTypedParameterPtr?, Int32, Str, UnsafeMutablePointer<UInt64>?) -> Int32)! = symbol("virTypedParamsGetULLong")
    public let virTypedParamsFree: (@convention(c) (virTypedParameterPtr?, Int32) -> Void)! = symbol("virTypedParamsFree")

    // MARK: node devices
    public let virConnectListAllNodeDevices: (@convention(c) (Conn, UnsafeMutablePointer<UnsafeMutablePointer<virNodeDevicePtr?>?>?, UInt32) -> Int32)! = symbol("virConnectListAllNodeDevices")
    public let virNodeDeviceFree: (@convention(c) (virNodeDevicePtr?) -> Int32)! = symbol("virNodeDeviceFree")
    public let virNodeDeviceGetXMLDesc: (@convention(c) (virNodeDevicePtr?, UInt32) -> UnsafeMutablePointer<CChar>?)! = symbol("virNodeDeviceGetXMLDesc")
    public let virNodeDeviceIsActive: (@convention(c) (virNodeDevicePtr?) -> Int32)! = symbol("virNodeDeviceIsActive")

    /// How the error for a missing library begins: callers that can go on without libvirt recognise it by this.
    public static let notLoadedPrefix = "could not load the libvirt library"

    /// The soname vgpuctl loads (the runtime package's file, so `libvirt-dev` is not needed to run vgpuctl).
    public static let library = "libvirt.so.0"

    /// The table, loaded once per process on first use (thread-safe: a global's initialiser runs once).
    public static func load() throws(VGPUError) -> LibvirtAPI { try loaded.get() }

    private static let loaded: Result<LibvirtAPI, VGPUError> = {
        // RTLD_LAZY: libvirt itself is linked BIND_NOW (its symbols bind here either way), but many of its ~55
        // dependencies are not, and binding all of theirs up front cost 18% more instructions (41M against 34M)
        // for functions vgpuctl never reaches. A missing library still fails here; a missing symbol of ours, below.
        guard let handle = dlopen(library, RTLD_LAZY | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            return .failure(VGPUError(.libvirt, "\(notLoadedPrefix) (\(library)): \(reason)",
                                      fix: "install libvirt's client library (apt-get install libvirt0), or use a command that does not need libvirt"))
        }
        resolving = Resolution(handle: handle)
        defer { resolving = nil }
        let api = LibvirtAPI()
        if let missing = resolving?.missing, !missing.isEmpty {
            return .failure(VGPUError(.libvirt, "the libvirt library (\(library)) lacks \(missing.joined(separator: ", ")); it is older than vgpuctl needs",
                                      fix: "upgrade libvirt's client library (apt-get install libvirt0)"))
        }
        return .success(api)
    }()
}

/// The library being resolved while `LibvirtAPI()` runs its property initialisers (only inside `loaded`'s
/// one-time initialiser, so never touched concurrently), and the names it lacks.
private struct Resolution {
    let handle: UnsafeMutableRawPointer
    var missing: [String] = []
}
private nonisolated(unsafe) var resolving: Resolution?

/// One C function from the library being loaded, as the function-pointer type of the property it initialises;
/// nil (recorded as missing, so `load` fails) when the library lacks it.
private func symbol<Function>(_ name: String) -> Function? {
    guard let address = dlsym(resolving?.handle, name) else {
        resolving?.missing.append(name)
        return nil
    }
    return unsafeBitCast(address, to: Function.self)
}

extension LibvirtAPI {
    /// The loaded libvirt library's version, e.g. "9.0.0" (libvirt encodes it as major * 1,000,000 + minor * 1,000 + release).
    public func libraryVersion() throws(VGPUError) -> String {
        var version: UInt = 0
        guard virGetVersion(&version, nil, nil) == 0 else {
            let detail = virGetLastErrorMessage().map { String(cString: $0) } ?? "unknown libvirt error"
            throw VGPUError(.libvirt, "could not read the libvirt library's version: \(detail)")
        }
        return "\(version / 1_000_000).\(version / 1_000 % 1_000).\(version % 1_000)"
    }
}
