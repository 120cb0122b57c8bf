import CLibUUID
import VGPUCore

/// UUIDs from libuuid, as the kernel's own tools use.
public enum LibUUID {
    /// A random (version 4) UUID from `uuid_generate_random`.
    public static func random() -> DeviceUUID {
        var raw: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &raw) { uuid_generate_random($0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
        return unparse(raw)
    }

    /// A name-based (version 5, SHA-1) UUID: the same name always gives the same UUID.
    public static func named(_ name: String) -> DeviceUUID {
        var namespace: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var raw = namespace
        // vgpuctl's namespace, itself derived from the standard URL namespace (RFC 4122).
        _ = withUnsafeMutableBytes(of: &namespace) { ns in
            uuid_parse("6ba7b811-9dad-11d1-80b4-00c04fd430c8", ns.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        withUnsafeMutableBytes(of: &raw) { out in
            withUnsafeBytes(of: namespace) { ns in
                let bytes = Array(("vgpuctl:" + name).utf8)
                uuid_generate_sha1(out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                   ns.baseAddress!.assumingMemoryBound(to: UInt8.self), bytes, bytes.count)
            }
        }
        return unparse(raw)
    }

    private static func unparse(_ raw: uuid_t) -> DeviceUUID {
        var text = [CChar](repeating: 0, count: 37)
        withUnsafeBytes(of: raw) { uuid_unparse_lower($0.baseAddress!.assumingMemoryBound(to: UInt8.self), &text) }
        // libuuid always prints a canonical UUID.
        return try! DeviceUUID(parsing: String(decoding: text.prefix(36).map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}

/// The UUID under which a vendor-specific VFIO vGPU is known. A VF has no UUID of its own, so vgpuctl records
/// the one it used (from `--uuid` or libuuid) in `/run/vgpuctl/vf/<address>`; a VF assigned by another tool
/// gets a stable name-based UUID derived from its address.
public struct VFRecords: Sendable {
    public let paths: HostPaths
    public let os: SystemCalls

    public init(paths: HostPaths, os: SystemCalls) {
        self.paths = paths
        self.os = os
    }

    var directory: String { Paths.join(paths.runDirectory, "vf") }

    public func uuid(forVF address: String) -> DeviceUUID {
        if let text = try? os.read(Paths.join(directory, address)), let uuid = try? DeviceUUID(parsing: text.trimmingTrailingWhitespace) {
            return uuid
        }
        return LibUUID.named("vf:" + address)
    }

    public func record(_ uuid: DeviceUUID, forVF address: String) throws(OSError) {
        try os.replaceAtomically(Paths.join(directory, address), with: uuid.text + "\n", directoryMode: paths.directoryMode)
    }

    public func forget(vf address: String) throws(OSError) {
        try os.removeDurably(Paths.join(directory, address))
    }
}
