#if canImport(Glibc)
import Glibc
#endif

/// Standard output and error, without Foundation's FileHandle (vgpuctl loads only FoundationEssentials, which
/// keeps start-up short: it runs from udev, libvirt hooks and timers, and in the TCG-emulated VM tier).
public enum Console {
    public static func out(_ text: String) { write(1, text) }
    public static func error(_ text: String) { write(2, text) }

    private static func write(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if count <= 0 { if errno == EINTR { continue }; return }
            offset += count
        }
    }
}
