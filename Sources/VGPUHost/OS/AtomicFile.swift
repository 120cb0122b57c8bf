#if canImport(Glibc)
import Glibc
#endif

enum AtomicFile {
    static let temporarySuffix = ".vgpuctl-tmp"
}

extension SystemCalls {
    /// Replaces `path` atomically: a temporary file in the same directory (`.<name>.vgpuctl-tmp`, hidden so that
    /// mdevctl's directory scan never reads it), written and fsynced, renamed over `path`, then the directory
    /// fsynced so the rename survives a crash. On any failure the temporary is removed: readers see the old file
    /// or the new one, whole, never a torn one or a stray. Missing directories are created with `directoryMode`.
    /// `durable: false` leaves out both fsyncs, for a caller that makes a whole batch durable at once (see
    /// `StepRunner.makeDurable`): other processes still see the old file or the new one, and only a power loss
    /// before that batch's sync can leave a torn file, which the batch's journal record then undoes.
    public func replaceAtomically(_ path: String, with contents: String, mode: mode_t = 0o644, durable: Bool = true,
                                  directoryMode: (String) -> mode_t = { _ in 0o755 }) throws(OSError) {
        let directory = Paths.dirname(path)
        let temporary = Paths.join(directory, "." + Paths.basename(path) + AtomicFile.temporarySuffix)
        // The create is tried first: the directory is there and the temporary is not, nearly always, and asking
        // first was three more lookups per file (a large apply writes hundreds).
        do {
            try createFile(temporary, contents, mode: mode, sync: durable)
        } catch where error.errno == ENOENT {
            // Usually only the last directory is missing (a parent's first definition): make it, and its own parents
            // only when that says they are missing too.
            do { try mkdir(directory, mode: directoryMode(directory)) } catch where error.errno == ENOENT {
                try makeDirectories(directory, mode: directoryMode)
            } catch where error.errno == EEXIST {}
            try createTemporary(temporary, contents, mode: mode, sync: durable, fresh: true)
        } catch where error.errno == EEXIST {
            try createTemporary(temporary, contents, mode: mode, sync: durable)
        } catch {
            try? unlink(temporary)
            throw error
        }
        do {
            try rename(temporary, path)
        } catch {
            try? unlink(temporary)
            throw error
        }
        if durable { try fsync(directory) }
    }

    /// Creates the temporary, replacing one a crash left (none can be in a directory just made: `fresh`).
    private func createTemporary(_ temporary: String, _ contents: String, mode: mode_t, sync: Bool, fresh: Bool = false) throws(OSError) {
        if !fresh, exists(temporary) { try unlink(temporary) }
        do {
            try createFile(temporary, contents, mode: mode, sync: sync)
        } catch {
            try? unlink(temporary)
            throw error
        }
    }

    /// Removes `path` if present and, when `durable`, makes the removal durable.
    public func removeDurably(_ path: String, durable: Bool = true) throws(OSError) {
        guard exists(path) else { return }
        try unlink(path)
        if durable { try fsync(Paths.dirname(path)) }
    }
}
