import VGPUCore
import VGPUHost

#if canImport(Glibc)
import Glibc
#endif

/// What a front end's process needs from the OS besides use cases: its entry points and clock, a fresh UUID,
/// the daemon's lock and systemd notification. Here so that no front end reaches the adapters itself.
public enum ProcessServices {
    /// A bounded write's child (see VGPUHost's BoundedWrite): when `arguments` (argv without argv[0]) are its
    /// form, the one sysfs write is made and the exit code returned; nil otherwise.
    public static func boundedWriteChild(_ arguments: [String]) -> Int32? {
        guard arguments.count == 3, arguments[0] == BoundedWrite.subcommand else { return nil }
        return BoundedWrite.child(path: arguments[1], contents: arguments[2])
    }

    /// Seconds on the monotonic clock.
    public static func now() -> Double { monotonicNow() }

    /// All of standard input (the hook's domain XML).
    public static func readStandardInput() -> [UInt8] { StandardInput.readAll() }

    /// A random UUID (libuuid), for a vGPU the caller names before creating it.
    public static func newUUID() -> DeviceUUID { LibUUID.random() }

    /// The last path component.
    public static func basename(_ path: String) -> String { Paths.basename(path) }

    /// vgpud's single-instance lock, held until the value is released.
    public static func daemonLock(_ environment: Environment) throws -> AnyObject {
        try DaemonLock.acquire(paths: environment.paths, os: environment.os)
    }

    /// sd_notify(3) to the environment's `NOTIFY_SOCKET`, if any.
    @discardableResult
    public static func notifySystemd(_ state: String, environment: Environment) -> Bool {
        SystemdNotify.send(state, socket: environment.variables["NOTIFY_SOCKET"])
    }
}
