#if canImport(Glibc)
import Glibc
#endif

/// A sysfs write with a bound, for the libvirt hook, which must never block libvirtd: writing a vGPU's `remove`
/// while another process holds its VFIO device blocks in the kernel until that process lets go (vfio waits for
/// the holder, uninterruptibly once the writer is signalled), and libvirtd waits for the hook meanwhile.
///
/// The write is made by a child process: vgpuctl itself as `vgpuctl __sysfs-write PATH CONTENTS` (the hidden
/// subcommand main.swift answers before anything else), with stdin, stdout and stderr on /dev/null and in its own
/// session. The parent waits for it up to the bound and, when that passes, leaves it and fails (ETIMEDOUT). A
/// thread would not do: a thread stuck in D state keeps the whole process alive, and with it libvirtd's pipes to
/// the hook (libvirtd waits for their end) and the host lock. The child holds neither: vgpuctl opens every file
/// close-on-exec (the lock's too), and its stdio is /dev/null, so a child stuck in the kernel blocks nobody; it
/// ends when the kernel lets the write finish.
public enum BoundedWrite {
    public static let subcommand = "__sysfs-write"

    /// The child's side: one plain write; exit 0, or the errno (every errno fits in an exit status).
    public static func child(path: String, contents: String) -> Int32 {
        do { try LiveSystemCalls().write(path, contents); return 0 } catch { return error.errno }
    }
}

extension LiveSystemCalls {
    public func write(_ path: String, _ contents: String, bound: Double) throws(OSError) {
        guard let executable = try? readLink("/proc/self/exe") else { throw OSError(.write, path, errno: ENOEXEC) }
        try write(path, contents, bound: bound, executable: executable)
    }

    /// `executable`: a vgpuctl (tests run the built one; vgpuctl runs itself).
    public func write(_ path: String, _ contents: String, bound: Double, executable: String) throws(OSError) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        // POSIX_SPAWN_SETSID (glibc 2.26; a GNU extension Swift does not import): the child's own session.
        let setsid: Int32 = 0x80
        posix_spawnattr_setflags(&attributes, Int16(Int32(POSIX_SPAWN_SETSIGMASK) | setsid))
        let words: [String] = [executable, BoundedWrite.subcommand, path, contents]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard code == 0 else { throw OSError(.write, path, errno: code) }
        let deadline = monotonicNow() + bound
        var status: Int32 = 0
        while true {
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid { break }
            if done < 0 && errno != EINTR { throw OSError(.write, path, errno: errno) }
            // Left running: it ends (and init reaps it) when the kernel lets the write finish.
            if monotonicNow() >= deadline { throw OSError(.write, path, errno: ETIMEDOUT) }
            usleep(10_000)
        }
        let signal = status & 0x7f, exitStatus = (status >> 8) & 0xff
        guard signal == 0 else { throw OSError(.write, path, errno: EINTR) }
        guard exitStatus == 0 else { throw OSError(.write, path, errno: exitStatus) }
    }
}
