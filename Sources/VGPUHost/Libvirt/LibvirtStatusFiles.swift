import VGPUCore

/// Which running domains use which devices, from the status XML libvirt's QEMU driver keeps for each running
/// domain (`/run/libvirt/qemu/<name>.xml`, a `<domstatus>` holding the live `<domain>`). The libvirt hook reads
/// these instead of asking libvirtd, which holds the domain's job while the hook runs (a call back could
/// deadlock). An unreadable or malformed file is skipped and reported.
public struct LibvirtStatusFiles {
    public let paths: HostPaths
    public let os: SystemCalls

    public init(paths: HostPaths, os: SystemCalls) {
        self.paths = paths
        self.os = os
    }

    public var directory: String { Paths.join(paths.root, "run/libvirt/qemu") }

    public func running() -> (usage: [HostdevSource: Set<String>], problems: [String]) {
        var usage: [HostdevSource: Set<String>] = [:], problems: [String] = []
        guard let files = try? os.list(directory) else { return (usage, problems) }
        for file in files.sorted() where file.hasSuffix(".xml") {
            let path = Paths.join(directory, file)
            do {
                let document = try DomainDocument(xml: try os.read(path), what: path)
                let name = document.name ?? String(file.dropLast(4))
                for source in document.sources { usage[source, default: []].insert(name) }
            } catch {
                problems.append("skipped \(path): \((error as? VGPUError)?.message ?? "\(error)")")
            }
        }
        return (usage, problems)
    }
}
