#if canImport(Glibc)
import Glibc
#endif

/// Standard input, read whole. The libvirt hook must read all of it even when it has nothing to do: libvirtd
/// writes the domain XML into a pipe and would see a write error if the hook exited without reading.
public enum StandardInput {
    public static func readAll() -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(0, $0.baseAddress, $0.count) }
            if count > 0 { bytes.append(contentsOf: chunk[0..<count]); continue }
            if count < 0 && errno == EINTR { continue }
            return bytes
        }
    }
}
