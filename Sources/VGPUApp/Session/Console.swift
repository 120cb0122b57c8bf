#if canImport(Glibc)
import Glibc
#endif

/// Standard output and error, without Foundation's FileHandle (vgpuctl loads only FoundationEssentials, which
/// keeps start-up short: it runs from udev, libvirt hooks and timers, and in the TCG-emulated VM tier).
public enum Console {
    public static func out(_ text: String) { write(1, Array(text.utf8)) }
    public static func out(_ bytes: [UInt8]) { write(1, bytes) }
    public static func error(_ text: String) { write(2, Array(text.utf8)) }

    private static func write(_ fd: Int32, _ bytes: [UInt8]) {
        var bytes = bytes
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if count <= 0 { if errno == EINTR { continue }; return }
            offset += count
        }
    }
}
