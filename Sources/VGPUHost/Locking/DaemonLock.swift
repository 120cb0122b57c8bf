#if canImport(Glibc)
import Glibc
#endif
import VGPUCore

/// One vgpud per host: an flock on `<root>/run/vgpuctl/vgpud.lock`, held for the daemon's whole life (the kernel
/// releases it when the process exits or is killed). The holder's pid is written into the file, so a second
/// vgpud can name it. It is a different file from the host lock, which vgpud takes only per operation.
public final class DaemonLock {
    private let os: SystemCalls
    private let descriptor: Int32
    public let path: String

    private init(os: SystemCalls, descriptor: Int32, path: String) {
        self.os = os
        self.descriptor = descriptor
        self.path = path
    }

    deinit { os.unlock(descriptor) }

    public static func path(_ paths: HostPaths) -> String { Paths.join(paths.runDirectory, "vgpud.lock") }

    /// Takes the lock at once or refuses (busy, exit 5) naming the running vgpud's pid.
    public static func acquire(paths: HostPaths, os: SystemCalls, pid: Int32 = getpid()) throws -> DaemonLock {
        let lockPath = path(paths)
        let descriptor: Int32?
        do {
            try os.makeDirectories(paths.runDirectory, mode: paths.directoryMode)
            descriptor = try os.lock(lockPath, wait: false)
        } catch {
            throw VGPUError(.host, "could not take vgpud's lock: \(error)", fix: "run vgpud as root (the lock lives in \(paths.runDirectory))")
        }
        guard let descriptor else {
            let holder = (try? os.read(lockPath))?.trimmingTrailingWhitespace ?? ""
            let who = holder.hasPrefix("pid ") ? holder : "pid unknown"
            throw VGPUError(.busy, "another vgpud is running on this host (\(who)); \(lockPath) is locked",
                            fix: "stop it first (systemctl stop vgpud), or use the one that runs")
        }
        let lock = DaemonLock(os: os, descriptor: descriptor, path: lockPath)
        // Who holds it, for the refusal above. Written through the path (the flock is on our open descriptor).
        try? os.write(lockPath, "pid \(pid)\n")
        return lock
    }
}
