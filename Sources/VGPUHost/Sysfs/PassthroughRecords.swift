import VGPUCore

/// Which PCI functions vgpuctl passed through and to which driver each goes back: one file per function, named
/// by its address. A persistent passthrough's record lives in `/var/lib/vgpuctl/passthrough`: the domain's
/// definition still names the device after a reboot, which binds it to its own driver again, and the record is
/// what lets the hook bind it to vfio-pci again when the domain starts. A domain-lifetime (`--live`) one's lives
/// in `/run/vgpuctl/passthrough`: its hostdev ends with the running domain, and so does the record at a reboot.
public struct PassthroughRecords: Sendable {
    public let paths: HostPaths
    public let os: SystemCalls

    public init(paths: HostPaths, os: SystemCalls) {
        self.paths = paths
        self.os = os
    }

    func directory(for lifetime: VGPURequest.Lifetime) -> String {
        Paths.join(lifetime == .persistent ? paths.stateDirectory : paths.runDirectory, "passthrough")
    }

    var directories: [String] { [directory(for: .persistent), directory(for: .domain)] }

    /// Every record, by address; a file that is not one is skipped (a hidden temporary, a stray file). An
    /// address recorded in both directories (a crash between writing one and dropping the other) counts once,
    /// as its persistent record.
    public func all() -> [PassthroughRecord] {
        var seen = Set<String>()
        var found: [PassthroughRecord] = []
        for directory in directories {
            for name in ((try? os.list(directory)) ?? []).sorted() where !name.hasPrefix(".") && !seen.contains(name) {
                guard let text = try? os.read(Paths.join(directory, name)), let record = PassthroughRecord(address: name, text: text) else { continue }
                seen.insert(name)
                found.append(record)
            }
        }
        return found.sorted { $0.address < $1.address }
    }

    public func write(_ record: PassthroughRecord) throws(OSError) {
        let path = Paths.join(directory(for: record.lifetime), record.address)
        if (try? os.read(path)) != record.text {
            try os.replaceAtomically(path, with: record.text, directoryMode: paths.directoryMode)
        }
        // A lifetime changed by a second passthrough (--live, then --config): one record, where it now belongs.
        for other in directories where other != Paths.dirname(path) {
            try os.removeDurably(Paths.join(other, record.address))
        }
    }

    public func forget(_ address: String) throws(OSError) {
        for directory in directories { try os.removeDurably(Paths.join(directory, address)) }
    }
}
