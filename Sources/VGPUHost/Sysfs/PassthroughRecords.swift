import VGPUCore

/// Which PCI functions vgpuctl passed through and to which driver each goes back: one file per function in
/// `/run/vgpuctl/passthrough/<address>` (see PassthroughRecord for why /run).
public struct PassthroughRecords: Sendable {
    public let paths: HostPaths
    public let os: SystemCalls

    public init(paths: HostPaths, os: SystemCalls) {
        self.paths = paths
        self.os = os
    }

    var directory: String { Paths.join(paths.runDirectory, "passthrough") }

    /// Every record, by address; a file that is not one is skipped (a hidden temporary, a stray file).
    public func all() -> [PassthroughRecord] {
        ((try? os.list(directory)) ?? []).sorted().compactMap { name in
            guard !name.hasPrefix("."), let text = try? os.read(Paths.join(directory, name)) else { return nil }
            return PassthroughRecord(address: name, text: text)
        }
    }

    public func write(_ record: PassthroughRecord) throws(OSError) {
        let path = Paths.join(directory, record.address)
        if (try? os.read(path)) == record.text { return }
        try os.replaceAtomically(path, with: record.text, directoryMode: paths.directoryMode)
    }

    public func forget(_ address: String) throws(OSError) {
        try os.removeDurably(Paths.join(directory, address))
    }
}
