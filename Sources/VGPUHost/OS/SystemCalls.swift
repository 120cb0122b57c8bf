#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call: which one, on which path, and errno.
public struct OSError: Error, Equatable, Sendable, CustomStringConvertible {
    public let operation: OSOperation
    public let path: String
    public let errno: Int32

    public init(_ operation: OSOperation, _ path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public var reason: String { String(cString: strerror(errno)) }
    public var description: String { "\(operation.rawValue) \(path): \(reason) (errno \(errno))" }
}

/// Every kind of call vgpuctl makes to the OS. Mutating ones are what fault injection counts by default.
public enum OSOperation: String, Sendable, CaseIterable {
    case read, list, readLink, exists, write, createFile, mkdir, rename, unlink, fsync, lock, symlink, spawn
    /// Device nodes and streams (VFIO): an ioctl may change a device's state, a stream write feeds a device.
    case openDevice, ioctl, readStream, writeStream, readRegion, writeRegion

    public var mutates: Bool {
        switch self {
        // A spawned program (an mdevctl callout) may change anything, so it counts as a change.
        case .write, .createFile, .mkdir, .rename, .unlink, .fsync, .symlink, .spawn, .ioctl, .writeStream, .writeRegion: return true
        case .read, .list, .readLink, .exists, .lock, .openDevice, .readStream, .readRegion: return false
        }
    }
}

/// The one place vgpuctl touches the file system (sysfs, /etc, /run, /var/lib). Adapters take it as a value,
/// so tests can trace every call and make the Nth one fail (see `FaultInjectingOS`).
public protocol SystemCalls: Sendable {
    /// Reads a whole (small) file. sysfs attributes are at most one page.
    func read(_ path: String) throws(OSError) -> String
    /// Reads a whole file as it is, for a reader that must see invalid UTF-8 rather than U+FFFD (the config file).
    func readBytes(_ path: String) throws(OSError) -> [UInt8]
    /// Directory entries, without "." and "..", unsorted.
    func list(_ path: String) throws(OSError) -> [String]
    func readLink(_ path: String) throws(OSError) -> String
    /// lstat succeeds (a dangling link exists).
    func exists(_ path: String) -> Bool
    /// Writes to an existing file without creating it: sysfs attributes (`create`, `remove`).
    func write(_ path: String, _ contents: String) throws(OSError)
    /// `write`, given up after `bound` seconds (ETIMEDOUT) for a write the kernel may block without end (see
    /// BoundedWrite.swift). Fakes and fixture kernels write as `write` does.
    func write(_ path: String, _ contents: String, bound: Double) throws(OSError)
    /// Creates `path` exclusively (O_EXCL), writes `contents` and, when `sync`, fsyncs it: the first half of an
    /// atomic replace.
    func createFile(_ path: String, _ contents: String, mode: mode_t, sync: Bool) throws(OSError)
    /// Creates one directory with `mode` (less the umask).
    func mkdir(_ path: String, mode: mode_t) throws(OSError)
    func rename(_ from: String, _ to: String) throws(OSError)
    func unlink(_ path: String) throws(OSError)
    /// fsync of a file or a directory (a directory fsync makes a rename durable).
    func fsync(_ path: String) throws(OSError)
    /// syncfs of the file system holding `path`: everything written there is durable when it returns.
    func syncFileSystem(containing path: String) throws(OSError)
    /// Opens (creating) `path` and takes an exclusive flock; returns the fd, or nil when `wait` is false and
    /// another process holds it. Closing the fd (or dying) releases it.
    func lock(_ path: String, wait: Bool) throws(OSError) -> Int32?
    /// Closes a descriptor `lock` returned, releasing the lock.
    func unlock(_ descriptor: Int32)
    /// Creates the symbolic link `path` pointing at `target` (the installed libvirt hook).
    func symlink(_ target: String, at path: String) throws(OSError)

    // Device nodes (VFIO). `path` names the device and request in errors and traces.
    /// Opens a character device (`/dev/vfio/vfio`, `/dev/vfio/<group>`) read-write.
    func openDevice(_ path: String) throws(OSError) -> Int32
    /// Closes a descriptor `openDevice` or an ioctl returned.
    func closeDescriptor(_ descriptor: Int32)
    /// ioctl with a pointer to an in/out struct; returns its non-negative result (some ioctls return an fd).
    func ioctl(_ descriptor: Int32, _ request: UInt, _ argument: UnsafeMutableRawPointer, path: String) throws(OSError) -> Int32
    /// ioctl with an integer argument (VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU); an int, as the kernel reads it.
    func ioctl(_ descriptor: Int32, _ request: UInt, value: Int32, path: String) throws(OSError) -> Int32
    /// Reads up to `maxBytes` from a stream (a migration data fd); empty at its end.
    func readStream(_ descriptor: Int32, maxBytes: Int, path: String) throws(OSError) -> [UInt8]
    /// Writes all of `bytes` to a stream.
    func writeStream(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws(OSError)
    /// pread/pwrite at an offset of a device fd (a VFIO region).
    func readRegion(_ descriptor: Int32, offset: UInt64, count: Int, path: String) throws(OSError) -> [UInt8]
    func writeRegion(_ descriptor: Int32, offset: UInt64, _ bytes: [UInt8], path: String) throws(OSError)
    /// Runs `executable` (posix_spawn, no shell) with `arguments`, `stdin` on its standard input, and collects its
    /// output; after `timeout` seconds its process group is killed (SIGKILL) and the result says so. Throws only
    /// when it could not be started.
    func run(_ executable: String, arguments: [String], stdin: String, timeout: Double) throws(OSError) -> ProcessResult
}

/// How a spawned program ended.
public struct ProcessResult: Equatable, Sendable {
    /// The exit status; nil when a signal ended it.
    public var status: Int32?
    /// The signal that ended it, if one did.
    public var signal: Int32?
    /// It ran past its time and was killed.
    public var timedOut: Bool
    public var stdout: String
    public var stderr: String

    public init(status: Int32?, signal: Int32? = nil, timedOut: Bool = false, stdout: String = "", stderr: String = "") {
        self.status = status
        self.signal = signal
        self.timedOut = timedOut
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// Adapters that only stand in for files (fixture kernels, fakes) have no devices, links or processes: every
/// such call fails with ENOSYS unless they implement it.
extension SystemCalls {
    public func readBytes(_ path: String) throws(OSError) -> [UInt8] { Array(try read(path).utf8) }
    public func write(_ path: String, _ contents: String, bound: Double) throws(OSError) { try write(path, contents) }
    public func symlink(_ target: String, at path: String) throws(OSError) { throw OSError(.symlink, path, errno: ENOSYS) }
    public func run(_ executable: String, arguments: [String], stdin: String, timeout: Double) throws(OSError) -> ProcessResult {
        throw OSError(.spawn, executable, errno: ENOSYS)
    }
    public func openDevice(_ path: String) throws(OSError) -> Int32 { throw OSError(.openDevice, path, errno: ENOSYS) }
    public func closeDescriptor(_ descriptor: Int32) {}
    public func ioctl(_ descriptor: Int32, _ request: UInt, _ argument: UnsafeMutableRawPointer, path: String) throws(OSError) -> Int32 {
        throw OSError(.ioctl, path, errno: ENOSYS)
    }
    public func ioctl(_ descriptor: Int32, _ request: UInt, value: Int32, path: String) throws(OSError) -> Int32 {
        throw OSError(.ioctl, path, errno: ENOSYS)
    }
    public func readStream(_ descriptor: Int32, maxBytes: Int, path: String) throws(OSError) -> [UInt8] {
        throw OSError(.readStream, path, errno: ENOSYS)
    }
    public func writeStream(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws(OSError) {
        throw OSError(.writeStream, path, errno: ENOSYS)
    }
    public func readRegion(_ descriptor: Int32, offset: UInt64, count: Int, path: String) throws(OSError) -> [UInt8] {
        throw OSError(.readRegion, path, errno: ENOSYS)
    }
    public func writeRegion(_ descriptor: Int32, offset: UInt64, _ bytes: [UInt8], path: String) throws(OSError) {
        throw OSError(.writeRegion, path, errno: ENOSYS)
    }
}

extension SystemCalls {
    public func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates every missing directory on the way to `path`, each with the mode `mode` gives for it (callers
    /// under the run and state directories pass `HostPaths.directoryMode`, which makes those 0700).
    public func makeDirectories(_ path: String, mode: (String) -> mode_t = { _ in 0o755 }) throws(OSError) {
        if isDirectory(path) { return }
        let parent = Paths.dirname(path)
        if parent != path { try makeDirectories(parent, mode: mode) }
        do { try mkdir(path, mode: mode(path)) } catch where error.errno == EEXIST {}
    }
}

/// The real OS.
public struct LiveSystemCalls: SystemCalls {
    public init() {}

    public func read(_ path: String) throws(OSError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw OSError(.read, path, errno: errno) }
        defer { close(fd) }
        // One uninitialised stack buffer serves every sysfs attribute (a large host has tens of thousands: a heap
        // array zeroed per call cost more than the read itself); larger files (definitions, journals) loop.
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4096) { (chunk) throws(OSError) -> String in
            var bytes: [UInt8] = []
            while true {
                let count = Glibc.read(fd, chunk.baseAddress, 4096)
                if count < 0 {
                    if errno == EINTR { continue }
                    throw OSError(.read, path, errno: errno)
                }
                if count == 0 { break }
                // A single short read: sysfs returns whole attributes. Decoded straight from the buffer.
                if count < 4096, bytes.isEmpty { return String(decoding: UnsafeBufferPointer(rebasing: chunk[0..<count]), as: UTF8.self) }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[0..<count]))
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    public func readBytes(_ path: String) throws(OSError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw OSError(.read, path, errno: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw OSError(.read, path, errno: errno)
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    public func list(_ path: String) throws(OSError) -> [String] {
        guard let dir = opendir(path) else { throw OSError(.list, path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func readLink(_ path: String) throws(OSError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, Int(PATH_MAX))
        guard count >= 0 else { throw OSError(.readLink, path, errno: errno) }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    public func write(_ path: String, _ contents: String) throws(OSError) {
        // O_TRUNC as a shell's `echo 1 > remove` does: sysfs ignores it, regular files (fixtures) need it.
        let fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard fd >= 0 else { throw OSError(.write, path, errno: errno) }
        defer { close(fd) }
        try writeAll(fd, contents, path: path, operation: .write)
    }

    public func createFile(_ path: String, _ contents: String, mode: mode_t, sync: Bool) throws(OSError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw OSError(.createFile, path, errno: errno) }
        defer { close(fd) }
        try writeAll(fd, contents, path: path, operation: .createFile)
        guard !sync || Glibc.fsync(fd) == 0 else { throw OSError(.fsync, path, errno: errno) }
    }

    public func mkdir(_ path: String, mode: mode_t) throws(OSError) {
        guard Glibc.mkdir(path, mode) == 0 else { throw OSError(.mkdir, path, errno: errno) }
    }

    public func rename(_ from: String, _ to: String) throws(OSError) {
        guard Glibc.rename(from, to) == 0 else { throw OSError(.rename, "\(from) -> \(to)", errno: errno) }
    }

    public func unlink(_ path: String) throws(OSError) {
        guard Glibc.unlink(path) == 0 else { throw OSError(.unlink, path, errno: errno) }
    }

    public func fsync(_ path: String) throws(OSError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw OSError(.fsync, path, errno: errno) }
        defer { close(fd) }
        guard Glibc.fsync(fd) == 0 else { throw OSError(.fsync, path, errno: errno) }
    }

    public func syncFileSystem(containing path: String) throws(OSError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw OSError(.fsync, path, errno: errno) }
        defer { close(fd) }
        guard libcSyncfs(fd) == 0 else { throw OSError(.fsync, path, errno: errno) }
    }

    public func lock(_ path: String, wait: Bool) throws(OSError) -> Int32? {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw OSError(.lock, path, errno: errno) }
        while flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0 {
            let code = errno
            if code == EINTR { continue }
            close(fd)
            if code == EWOULDBLOCK { return nil }
            throw OSError(.lock, path, errno: code)
        }
        return fd
    }

    public func unlock(_ descriptor: Int32) { close(descriptor) }

    public func symlink(_ target: String, at path: String) throws(OSError) {
        guard Glibc.symlink(target, path) == 0 else { throw OSError(.symlink, path, errno: errno) }
    }

    public func openDevice(_ path: String) throws(OSError) -> Int32 {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw OSError(.openDevice, path, errno: errno) }
        return fd
    }

    public func closeDescriptor(_ descriptor: Int32) { close(descriptor) }

    public func ioctl(_ descriptor: Int32, _ request: UInt, _ argument: UnsafeMutableRawPointer, path: String) throws(OSError) -> Int32 {
        while true {
            let result = Glibc.ioctl(descriptor, request, argument)
            if result >= 0 { return result }
            if errno != EINTR { throw OSError(.ioctl, path, errno: errno) }
        }
    }

    public func ioctl(_ descriptor: Int32, _ request: UInt, value: Int32, path: String) throws(OSError) -> Int32 {
        while true {
            let result = Glibc.ioctl(descriptor, request, value)
            if result >= 0 { return result }
            if errno != EINTR { throw OSError(.ioctl, path, errno: errno) }
        }
    }

    public func readStream(_ descriptor: Int32, maxBytes: Int, path: String) throws(OSError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maxBytes)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, maxBytes) }
            if count >= 0 { return Array(buffer[0..<count]) }
            if errno != EINTR { throw OSError(.readStream, path, errno: errno) }
        }
    }

    public func writeStream(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws(OSError) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw OSError(.writeStream, path, errno: errno)
            }
            offset += count
        }
    }

    public func readRegion(_ descriptor: Int32, offset: UInt64, count: Int, path: String) throws(OSError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        while true {
            let read = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, count, off_t(Int64(bitPattern: offset))) }
            if read == count { return buffer }
            if read >= 0 { throw OSError(.readRegion, path, errno: EIO) }  // a device region answers whole or not at all
            if errno != EINTR { throw OSError(.readRegion, path, errno: errno) }
        }
    }

    public func writeRegion(_ descriptor: Int32, offset: UInt64, _ bytes: [UInt8], path: String) throws(OSError) {
        while true {
            let written = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(Int64(bitPattern: offset))) }
            if written == bytes.count { return }
            if written >= 0 { throw OSError(.writeRegion, path, errno: EIO) }
            if errno != EINTR { throw OSError(.writeRegion, path, errno: errno) }
        }
    }

    private func writeAll(_ fd: Int32, _ contents: String, path: String, operation: OSOperation) throws(OSError) {
        let bytes = Array(contents.utf8)
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw OSError(operation, path, errno: errno)
            }
            offset += count
        }
    }
}

/// glibc declares syncfs(2) only under _GNU_SOURCE, which the Glibc module is not built with.
@_silgen_name("syncfs")
private func libcSyncfs(_ descriptor: Int32) -> Int32
