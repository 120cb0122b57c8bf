import VGPUCore
import VGPUHost

/// `vgpuctl detach ADDRESS [--vm NAME]`: a passed-through card detached from its domain and every function of
/// it given back to the driver it had. Finished, not undone, if interrupted.
public struct GiveBackGPU: ChangeUseCase {
    public var address: String
    public var domain: String?

    public init(_ address: String, from domain: String? = nil) {
        self.address = address
        self.domain = domain
    }

    public func run(in session: Session) throws -> [PassthroughRecord] {
        let records = PassthroughRecords(paths: session.environment.paths, os: session.environment.os).all()
        guard let name = domain ?? records.first(where: { $0.address == address })?.domain else {
            throw VGPUError(.notFound, "\(address) is not a device vgpuctl passed through",
                            fix: "see 'vgpuctl list --passthrough'; a device attached by hand is detached with virsh detach-device")
        }
        let found: DomainInfo?
        do {
            found = try session.libvirt().domain(name)
        } catch let error as VGPUError where error.kind == .notFound && domain == nil {
            // Undefined since (virsh undefine, or a domain that never came back): nothing names the card any
            // more, and only its drivers go back.
            found = nil
        }
        let plan = try Self.plan(domain: found, named: name, only: [address], records: records, session: session)
        try session.execute(plan)
        return plan.steps.compactMap { if case let .restoreDriver(record) = $0 { record } else { nil } }
    }

    /// The give-back plan for `domain`'s passed-through devices (`only`: these cards; `domain` nil: the domain
    /// named `name` is gone). Without a running QEMU of the domain, a process holding one of them is foreign:
    /// refused before any step, naming it.
    static func plan(domain: DomainInfo?, named name: String, only: [String]?, records: [PassthroughRecord], session: Session) throws -> Plan {
        let libvirt = try session.libvirt()
        let pci = { (xml: String, what: String) throws -> Set<String> in
            Set(try DomainDocument(xml: xml, what: what).sources.compactMap { if case let .pci(address) = $0 { address } else { nil } })
        }
        var inConfig: Set<String> = [], inLive: Set<String> = []
        if let domain {
            inConfig = try pci(libvirt.xml(of: domain.name, inactive: true), "the inactive XML of domain \(domain.name)")
            if domain.isActive { inLive = try pci(libvirt.xml(of: domain.name, inactive: false), "the live XML of domain \(domain.name)") }
        }
        let templates = try session.templates()
        let plan = try PassthroughPlanner.giveBack(domain: name, records: records, only: only, inConfig: inConfig, inLive: inLive) {
            try templates.hostdev(pciAddress: $0)
        }
        if domain?.isActive != true {
            let holders = DeviceHolders(paths: session.environment.paths, os: session.environment.os)
            let scanned = holders.scan()
            for step in plan.steps {
                guard case let .restoreDriver(record) = step, record.driver != PCIDriverBinding.vfio else { continue }
                let held = holders.holders(ofDeviceAt: Paths.join(session.environment.paths.pciDevices, record.address), scanned: scanned)
                if !held.isEmpty {
                    throw VGPUError(.busy, "PCI device \(record.address) is in use: \(held.map(\.description).joined(separator: "; ")); nothing was changed",
                                    fix: "stop process \(held.map { String($0.pid) }.joined(separator: ", ")) first")
                }
            }
        }
        return plan
    }
}
