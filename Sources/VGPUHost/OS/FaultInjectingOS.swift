#if canImport(Glibc)
import Glibc
#endif

/// Wraps another `SystemCalls`, records every call, and fails the Nth counted one (see `Mode`). Tests use it to
/// drive every rollback and recovery path; `VGPUCTL_FAIL_AT=N` / `VGPUCTL_KILL_AT=N` turn it on in the binary.
public final class FaultInjectingOS: SystemCalls, @unchecked Sendable {
    public struct Call: Equatable, Sendable, CustomStringConvertible {
        public let operation: OSOperation
        public let path: String
        public init(operation: OSOperation, path: String) {
            self.operation = operation
            self.path = path
        }
        public var description: String { "\(operation.rawValue) \(path)" }
    }

    private let base: SystemCalls
    private let failAt: Int?
    public enum Mode: Sendable {
        /// Only the Nth call fails: the caller sees an error and rolls back.
        case once
        /// The Nth call and every counted call after it fail, as if the process had died there: nothing after
        /// it (rollback included) reaches the disk. In-process stand-in for a crash, for recovery tests.
        case dead
        /// SIGKILL the process at the Nth call, before it takes effect (`kill -9`).
        case kill
    }

    private let failWith: Int32
    private let mode: Mode
    private let counts: (OSOperation) -> Bool
    private let mutex = Mutex()
    private var counted = 0
    private var log: [Call] = []

    /// - Parameters:
    ///   - failAt: the 1-based index, among counted calls, of the one that fails (nil: never fail, only trace).
    ///   - counting: which operations count; mutating ones by default.
    public init(_ base: SystemCalls = LiveSystemCalls(), failAt: Int? = nil, errno: Int32 = EIO, mode: Mode = .once,
                counting: @escaping @Sendable (OSOperation) -> Bool = { $0.mutates }) {
        self.base = base
        self.failAt = failAt
        self.failWith = errno
        self.mode = mode
        self.counts = counting
    }

    /// Every call made so far, in order.
    public var calls: [Call] { mutex.withLock { log } }
    /// How many counted calls were made (run once with no failure to learn how many fault points a path has).
    public var countedCalls: Int { mutex.withLock { counted } }

    private func enter(_ operation: OSOperation, _ path: String) throws(OSError) {
        let shouldFail: Bool = mutex.withLock {
            log.append(Call(operation: operation, path: path))
            guard counts(operation) else { return false }
            counted += 1
            guard let failAt else { return false }
            return mode == .dead ? counted >= failAt : counted == failAt
        }
        if shouldFail && mode == .kill { raise(SIGKILL) }
        if shouldFail { throw OSError(operation, path, errno: failWith) }
    }

    public func read(_ path: String) throws(OSError) -> String { try enter(.read, path); return try base.read(path) }
    public func readBytes(_ path: String) throws(OSError) -> [UInt8] { try enter(.read, path); return try base.readBytes(path) }
    public func list(_ path: String) throws(OSError) -> [String] { try enter(.list, path); return try base.list(path) }
    public func readLink(_ path: String) throws(OSError) -> String { try enter(.readLink, path); return try base.readLink(path) }
    public func exists(_ path: String) -> Bool { (try? enter(.exists, path)) != nil && base.exists(path) }
    public func write(_ path: String, _ contents: String) throws(OSError) { try enter(.write, path); try base.write(path, contents) }
    public func createFile(_ path: String, _ contents: String, mode: mode_t, sync: Bool) throws(OSError) {
        try enter(.createFile, path)
        try base.createFile(path, contents, mode: mode, sync: sync)
    }
    public func mkdir(_ path: String, mode: mode_t) throws(OSError) { try enter(.mkdir, path); try base.mkdir(path, mode: mode) }
    public func rename(_ from: String, _ to: String) throws(OSError) { try enter(.rename, to); try base.rename(from, to) }
    public func unlink(_ path: String) throws(OSError) { try enter(.unlink, path); try base.unlink(path) }
    public func fsync(_ path: String) throws(OSError) { try enter(.fsync, path); try base.fsync(path) }
    public func syncFileSystem(containing path: String) throws(OSError) { try enter(.fsync, path); try base.syncFileSystem(containing: path) }
    public func lock(_ path: String, wait: Bool) throws(OSError) -> Int32? { try enter(.lock, path); return try base.lock(path, wait: wait) }
    public func unlock(_ descriptor: Int32) { base.unlock(descriptor) }
    public func symlink(_ target: String, at path: String) throws(OSError) { try enter(.symlink, path); try base.symlink(target, at: path) }
    public func openDevice(_ path: String) throws(OSError) -> Int32 { try enter(.openDevice, path); return try base.openDevice(path) }
    public func closeDescriptor(_ descriptor: Int32) { base.closeDescriptor(descriptor) }
    public func ioctl(_ descriptor: Int32, _ request: UInt, _ argument: UnsafeMutableRawPointer, path: String) throws(OSError) -> Int32 {
        try enter(.ioctl, path)
        return try base.ioctl(descriptor, request, argument, path: path)
    }
    public func ioctl(_ descriptor: Int32, _ request: UInt, value: Int32, path: String) throws(OSError) -> Int32 {
        try enter(.ioctl, path)
        return try base.ioctl(descriptor, request, value: value, path: path)
    }
    public func readStream(_ descriptor: Int32, maxBytes: Int, path: String) throws(OSError) -> [UInt8] {
        try enter(.readStream, path)
        return try base.readStream(descriptor, maxBytes: maxBytes, path: path)
    }
    public func writeStream(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws(OSError) {
        try enter(.writeStream, path)
        try base.writeStream(descriptor, bytes, path: path)
    }
    public func readRegion(_ descriptor: Int32, offset: UInt64, count: Int, path: String) throws(OSError) -> [UInt8] {
        try enter(.readRegion, path)
        return try base.readRegion(descriptor, offset: offset, count: count, path: path)
    }
    public func writeRegion(_ descriptor: Int32, offset: UInt64, _ bytes: [UInt8], path: String) throws(OSError) {
        try enter(.writeRegion, path)
        try base.writeRegion(descriptor, offset: offset, bytes, path: path)
    }
    public func run(_ executable: String, arguments: [String], stdin: String, timeout: Double) throws(OSError) -> ProcessResult {
        try enter(.spawn, executable)
        return try base.run(executable, arguments: arguments, stdin: stdin, timeout: timeout)
    }
}
