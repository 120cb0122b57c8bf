#if canImport(Glibc)
import Glibc
#endif
import VGPUCore

/// The one host-wide lock every state-changing command holds from reading the inventory to its last step, so
/// two commands can never both see the same free instance. An flock on `/run/vgpuctl/lock`: the kernel releases
/// it when the holder exits or is killed, so a crash never leaves it stuck. Who holds it is written to
/// `lock.holder`, for the message a waiter gets.
public final class HostLock {
    private let os: SystemCalls
    private let descriptor: Int32

    private init(os: SystemCalls, descriptor: Int32) {
        self.os = os
        self.descriptor = descriptor
    }

    deinit { os.unlock(descriptor) }

    /// Takes the lock, waiting up to `wait` seconds (0: fail at once).
    public static func acquire(paths: HostPaths, os: SystemCalls, wait: Double, holder: String) throws -> HostLock {
        let lockPath = Paths.join(paths.runDirectory, "lock")
        let holderPath = Paths.join(paths.runDirectory, "lock.holder")
        let deadline = monotonicNow() + wait
        var pause: UInt32 = 2_000
        do {
            try os.makeDirectories(paths.runDirectory, mode: paths.directoryMode)
            while true {
                if let descriptor = try os.lock(lockPath, wait: false) {
                    let lock = HostLock(os: os, descriptor: descriptor)
                    try os.replaceAtomically(holderPath, with: "pid \(getpid()) since \(time(nil)): \(holder)\n")
                    return lock
                }
                if monotonicNow() >= deadline { break }
                // flock has no timeout: poll, backing off to 50 ms so twenty waiters cost little CPU.
                usleep(pause)
                pause = min(pause * 2, 50_000)
            }
        } catch {
            throw VGPUError(.host, "could not take the host lock: \(error)", fix: "run as root (the lock lives in \(paths.runDirectory))")
        }
        throw VGPUError(.busy, "another vgpuctl holds the host lock (\(describeHolder(os: os, path: holderPath)))",
                        fix: wait == 0 ? "retry, or pass --wait SECONDS to wait for it" : "it held it for more than \(Int(wait)) s; retry, or pass a larger --wait")
    }

    static func describeHolder(os: SystemCalls, path: String) -> String {
        guard let text = try? os.read(path).trimmingTrailingWhitespace, text.hasPrefix("pid ") else { return "holder unknown" }
        // "pid N since T: command" -> "pid N, for S s: command"
        let parts = text.split(separator: " ", maxSplits: 4).map(String.init)
        guard parts.count == 5, let since = Int(parts[3].dropLast()) else { return text }
        return "\(parts[0]) \(parts[1]), for \(max(0, Int(time(nil)) - since)) s: \(parts[4])"
    }
}
