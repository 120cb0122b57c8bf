/// Every failure a user can meet, each carrying what they need to act: the value seen, the path and the fix.
/// The CLI maps `exitCode` to its process exit status (documented in `vgpuctl --help`).
public struct VGPUError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable {
        case invalidInput = "invalid-input"
        case notFound = "not-found"
        case noCapacity = "no-capacity"
        case busy = "busy"
        case libvirt = "libvirt"
        case interrupted = "interrupted"
        case host = "host"
        /// An mdevctl callout script's pre event refused the action.
        case vetoed = "vetoed"
        case internalError = "internal"
    }

    public let kind: Kind
    /// What went wrong, naming the value (and the path, where there is one).
    public let message: String
    /// What the user can do about it; empty where nothing useful can be said.
    public let fix: String

    public init(_ kind: Kind, _ message: String, fix: String = "") {
        self.kind = kind
        self.message = message
        self.fix = fix
    }

    public var description: String { fix.isEmpty ? message : "\(message)\n  fix: \(fix)" }

    /// Exit status per kind. Stable: scripts depend on these numbers.
    public var exitCode: Int32 { Self.exitCodes[kind] ?? 1 }

    public static let exitCodes: [Kind: Int32] = [
        .internalError: 1, .invalidInput: 2, .notFound: 3, .noCapacity: 4,
        .busy: 5, .libvirt: 6, .interrupted: 7, .host: 8, .vetoed: 9,
    ]

    public static let exitCodeHelp = """
        EXIT CODES:
          0  success
          1  internal error (a bug: please report it)
          2  invalid input (malformed UUID, a name with '/', '..' or control
             characters, a bad option, a config file mistake: file and line)
          3  not found (unknown type, parent, vGPU or domain)
          4  no capacity (no free instance of the type on any eligible parent)
          5  busy (a domain or process uses the vGPU, or the host lock is held)
          6  libvirt refused or is unreachable (libvirt's own message is kept)
          7  an interrupted operation could not be recovered (the message names
             its journal file; fix the cause, then run 'vgpuctl recover')
          8  host error (sysfs missing or not writable, I/O error)
          9  an mdevctl callout script (/etc/mdevctl.d/scripts.d/callouts) refused the action; its message is shown
        """
}
