#if canImport(Glibc)
import Glibc
#endif

extension LiveSystemCalls {
    /// posix_spawn with three pipes. The child gets its own process group, so a timeout kills a script together
    /// with whatever it started (a shell's `sleep`), and SIGPIPE back at its default (vgpuctl ignores it, so
    /// that a child that exits without reading its stdin cannot kill vgpuctl).
    public func run(_ executable: String, arguments: [String], stdin input: String, timeout: Double) throws(OSError) -> ProcessResult {
        signal(SIGPIPE, SIG_IGN)
        var pipes: [[Int32]] = [[-1, -1], [-1, -1], [-1, -1]]  // stdin, stdout, stderr: [read end, write end]
        defer { for pipe in pipes { for fd in pipe where fd >= 0 { close(fd) } } }
        for index in pipes.indices {
            var fds: [Int32] = [-1, -1]
            // pipe2 is not exported to Swift; close-on-exec right after keeps the pipes out of other children.
            guard pipe(&fds) == 0 else { throw OSError(.spawn, executable, errno: errno) }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            pipes[index] = fds
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipes[0][0], 0)
        posix_spawn_file_actions_adddup2(&actions, pipes[1][1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipes[2][1], 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t(), empty = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        sigemptyset(&empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard code == 0 else { throw OSError(.spawn, executable, errno: code) }
        // The child's ends belong to the child now. Our end of its stdin must not block: poll promises room for
        // PIPE_BUF bytes only.
        for (index, end) in [(0, 0), (1, 1), (2, 1)] { close(pipes[index][end]); pipes[index][end] = -1 }
        _ = fcntl(pipes[0][1], F_SETFL, O_NONBLOCK)

        let deadline = monotonicNow() + timeout
        var output = Collected(stdin: Array(input.utf8))
        var (toChild, fromStdout, fromStderr) = (pipes[0][1], pipes[1][0], pipes[2][0])
        (pipes[0][1], pipes[1][0], pipes[2][0]) = (-1, -1, -1)  // exchange closes them
        defer { for fd in [toChild, fromStdout, fromStderr] where fd >= 0 { close(fd) } }
        let timedOut = output.exchange(stdin: &toChild, stdout: &fromStdout, stderr: &fromStderr, until: deadline)
        if timedOut { kill(-pid, SIGKILL); kill(pid, SIGKILL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED / WTERMSIG, which Swift does not import (they are macros).
        let signal = status & 0x7f
        return ProcessResult(status: signal == 0 ? (status >> 8) & 0xff : nil, signal: signal == 0 ? nil : signal,
                             timedOut: timedOut, stdout: String(decoding: output.stdout, as: UTF8.self),
                             stderr: String(decoding: output.stderr, as: UTF8.self))
    }
}

/// Feeds a child's stdin and drains its stdout and stderr with poll, so neither side blocks the other.
private struct Collected {
    var stdin: [UInt8]
    var written = 0
    var stdout: [UInt8] = []
    var stderr: [UInt8] = []

    /// Returns true when the deadline passed before the child closed its output (it is then killed).
    mutating func exchange(stdin input: inout Int32, stdout out: inout Int32, stderr err: inout Int32, until deadline: Double) -> Bool {
        if stdin.isEmpty { close(input); input = -1 }
        while out >= 0 || err >= 0 {
            let left = deadline - monotonicNow()
            if left <= 0 { return true }
            var fds = [pollfd(fd: input, events: Int16(POLLOUT), revents: 0), pollfd(fd: out, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: err, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 3, Int32(min(left * 1000, 1000)) + 1)
            if ready < 0 && errno != EINTR { return false }
            if ready <= 0 { continue }
            if input >= 0, fds[0].revents != 0 {
                let count = stdin[written...].withUnsafeBytes { Glibc.write(input, $0.baseAddress, $0.count) }
                if count > 0 { written += count }
                // Done, or the child closed its end without reading all (EPIPE): either way, stdin is finished.
                if count <= 0 && errno != EINTR && errno != EAGAIN || written == stdin.count { close(input); input = -1 }
            }
            Self.drain(&out, into: &stdout, if: fds[1].revents)
            Self.drain(&err, into: &stderr, if: fds[2].revents)
        }
        if input >= 0 { close(input); input = -1 }
        return false
    }

    static func drain(_ fd: inout Int32, into bytes: inout [UInt8], if events: Int16) {
        guard fd >= 0, events != 0 else { return }
        var chunk = [UInt8](repeating: 0, count: 4096)
        let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 4096) }
        if count > 0 {
            // A callout's output is a line or a small JSON document; keep at most 1 MiB of a runaway one.
            if bytes.count < 1 << 20 { bytes.append(contentsOf: chunk[0..<count]) }
        } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
            close(fd)
            fd = -1
        }
    }
}
