#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import VGPUCore

/// The intent log. A multi-step plan is written here, durably, before its first step and deleted after its
/// last (or after a complete rollback). A record left behind means the process died mid-way; `Recovery`
/// completes or undoes it. Records live in `/var/lib/vgpuctl/journal/<id>.json` (survives reboots: a
/// definition written before a crash must be undone after the reboot too).
public struct Journal: Sendable {
    public struct Record: Decodable, Equatable, Sendable {
        public var id: String
        public var pid: Int32
        /// Seconds since the epoch.
        public var started: Int
        /// The command line, for humans reading `vgpuctl recover`'s report.
        public var command: String
        public var plan: Plan

        /// The record's one JSON encoding (sorted keys, no whitespace), read back with JSONDecoder.
        public var json: String {
            var json = JSONWriter(.compact, reservingCapacity: 1024)
            json.beginObject()
            json.key("command"); json.string(command)
            json.key("id"); json.string(id)
            json.key("pid"); json.int(Int(pid))
            json.key("plan"); json.plan(plan)
            json.key("started"); json.int(started)
            json.endObject()
            return String(decoding: json.bytes, as: UTF8.self)
        }
    }

    public let paths: HostPaths
    public let os: SystemCalls

    public init(paths: HostPaths, os: SystemCalls) {
        self.paths = paths
        self.os = os
    }

    var directory: String { Paths.join(paths.stateDirectory, "journal") }
    func path(of id: String) -> String { Paths.join(directory, id + ".json") }

    public func begin(_ plan: Plan, command: String) throws -> Record {
        let record = Record(id: LibUUID.random().text, pid: getpid(), started: Int(time(nil)), command: command, plan: plan)
        do {
            try os.replaceAtomically(path(of: record.id), with: record.json, directoryMode: paths.directoryMode)
        } catch {
            // Renamed but not made durable: nothing was done, so the record must not survive either.
            try? os.unlink(path(of: record.id))
            throw VGPUError(.host, "could not record the operation in the journal before starting it: \(error)",
                            fix: "check that \(directory) is writable (run as root); nothing was changed")
        }
        return record
    }

    public func end(_ record: Record) throws {
        do {
            try os.removeDurably(path(of: record.id))
        } catch {
            throw VGPUError(.host, "'\(record.command)' finished, but its journal record could not be deleted: \(error)",
                            fix: "run 'vgpuctl recover' once \(directory) is writable: it will \(record.plan.recovery == .rollBack ? "undo" : "finish") the operation")
        }
    }

    /// Interrupted operations, oldest first. An unreadable record is an error: guessing would be worse.
    public func pending() throws -> [Record] {
        guard os.exists(directory) else { return [] }
        let names: [String]
        do { names = try os.list(directory) } catch {
            throw VGPUError(.host, "could not read the journal: \(error)", fix: "run as root")
        }
        var records: [Record] = []
        for name in names where name.hasSuffix(".json") && !name.hasPrefix(".") {
            let file = Paths.join(directory, name)
            do {
                records.append(try JSONDecoder().decode(Record.self, from: Data(os.read(file).utf8)))
            } catch {
                throw VGPUError(.interrupted, "the journal record \(file) cannot be read: \(error)",
                                fix: "inspect it and the host ('vgpuctl list'), then delete the file by hand")
            }
        }
        return records.sorted { ($0.started, $0.id) < ($1.started, $1.id) }
    }

    /// Deletes temporaries of atomic replaces a crash interrupted (`.<name>.vgpuctl-tmp`) in the journal and
    /// the definition directories; returns their paths. Only ever called under the host lock, so no replace
    /// is in flight.
    public func sweepTemporaries() -> [String] {
        let definitions = DefinitionStore(paths: paths, os: os)
        var directories = [directory] + PassthroughRecords(paths: paths, os: os).directories
        for base in [paths.mdevctlDefinitions, definitions.vfioDirectory] {
            directories += ((try? os.list(base)) ?? []).filter { $0 != "scripts.d" }.map { Paths.join(base, $0) }
        }
        var removed: [String] = []
        for directory in directories {
            for name in (try? os.list(directory)) ?? [] where name.hasPrefix(".") && name.hasSuffix(AtomicFile.temporarySuffix) {
                let path = Paths.join(directory, name)
                if (try? os.unlink(path)) != nil { removed.append(path) }
            }
        }
        return removed
    }
}
