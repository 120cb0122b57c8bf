#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every path vgpuctl uses, derived from one root (as mdevctl's environment does), so each test builds its own
/// host tree. `sysfs` may be moved on its own (`--sysfs-root`), because fixture sysfs trees are often shared.
public struct HostPaths: Equatable, Sendable {
    public let root: String
    public let sysfs: String

    public init(root: String = "/", sysfs: String? = nil) {
        self.root = root
        self.sysfs = sysfs ?? Paths.join(root, "sys")
    }

    public var mdevBus: String { Paths.join(sysfs, "class/mdev_bus") }
    public var mdevDevices: String { Paths.join(sysfs, "bus/mdev/devices") }
    public var pciDevices: String { Paths.join(sysfs, "bus/pci/devices") }
    /// mdevctl's definitions: `<parent>/<uuid>`.
    public var mdevctlDefinitions: String { Paths.join(root, "etc/mdevctl.d") }
    /// Host placement config.
    public var configFile: String { Paths.join(root, "etc/vgpuctl/vgpuctl.conf") }
    /// Runtime state that a reboot must forget: the lock, VF UUID records.
    public var runDirectory: String { Paths.join(root, "run/vgpuctl") }
    /// State that survives reboots: the journal, vendor-specific VFIO definitions.
    public var stateDirectory: String { Paths.join(root, "var/lib/vgpuctl") }
    public var proc: String { Paths.join(root, "proc") }

    /// The mode of a directory vgpuctl creates at `path`: 0700 for the run and state directories and everything
    /// below them (the journal, the lock holder and the VF records name which domains hold which devices, which
    /// is no other user's business), 0755 elsewhere (mdevctl's `/etc/mdevctl.d`, and any parent on the way).
    public func directoryMode(_ path: String) -> mode_t {
        for base in [runDirectory, stateDirectory] where path == base || path.hasPrefix(base.hasSuffix("/") ? base : base + "/") {
            return 0o700
        }
        return 0o755
    }
}

public enum Paths {
    public static func join(_ base: String, _ relative: String) -> String {
        if relative.isEmpty { return base }
        // One allocation, not two (`base + "/" + relative`): a large host's inventory joins ~100,000 paths.
        var path = base
        path.reserveCapacity(base.utf8.count + 1 + relative.utf8.count)
        if !base.hasSuffix("/") { path.append("/") }
        path.append(relative)
        return path
    }

    public static func basename(_ path: String) -> String {
        let trimmed = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        return trimmed.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? trimmed
    }

    public static func dirname(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Resolves a relative symlink target against the directory holding the link, lexically (sysfs links are
    /// relative and never loop; lexical resolution keeps fixture trees and real sysfs alike).
    public static func resolve(_ target: String, from linkDirectory: String) -> String {
        var parts = target.hasPrefix("/") ? [] : linkDirectory.split(separator: "/").map(String.init)
        for component in target.split(separator: "/") {
            switch component {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(String(component))
            }
        }
        return "/" + parts.joined(separator: "/")
    }
}
