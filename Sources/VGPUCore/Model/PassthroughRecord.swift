/// One PCI function vgpuctl moved to `vfio-pci` for a domain, and the driver to give it back to. Kept while the
/// domain has the function (PassthroughRecords says where, by lifetime), and inside the bind step's journal record
/// while the passthrough runs, so that an interrupted one is undone with the right driver.
public struct PassthroughRecord: Decodable, Equatable, Hashable, Sendable {
    public var address: String
    /// The driver bound before (nil: none was; `vfio-pci`: it was on vfio-pci already, and stays there).
    public var driver: String?
    public var domain: String
    /// `persistent`: until `detach`, `destroy --vm` gives it back (the domain's definition names it).
    /// `domain`: a live-only passthrough, given back by the libvirt hook when that run of the domain ends.
    public var lifetime: VGPURequest.Lifetime

    public init(address: String, driver: String?, domain: String, lifetime: VGPURequest.Lifetime = .persistent) {
        self.address = address
        self.driver = driver
        self.domain = domain
        self.lifetime = lifetime
    }

    /// The record file's text: `key value` lines (no JSON machinery for a file read on every give-back).
    public var text: String {
        "domain \(domain)\ndriver \(driver ?? "")\nlifetime \(lifetime.rawValue)\n"
    }

    /// Reads a record file's text; nil when it is not one.
    public init?(address: String, text: String) {
        var fields: [Substring: Substring] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            fields[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        guard let domain = fields["domain"], !domain.isEmpty, let driver = fields["driver"],
              let lifetime = fields["lifetime"].flatMap({ VGPURequest.Lifetime(rawValue: String($0)) }) else { return nil }
        self.init(address: address, driver: driver.isEmpty ? nil : String(driver), domain: String(domain), lifetime: lifetime)
    }

    /// What giving it back means, for messages: "bochs-drm", or "no driver".
    public var driverText: String { driver ?? "no driver" }
}
