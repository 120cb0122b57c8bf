/// A request to hand a whole GPU to a domain: `vgpuctl passthrough ADDRESS --vm NAME`.
public struct PassthroughRequest: Equatable, Sendable {
    /// Any function of the card; the whole card goes.
    public var address: String
    public var domain: String
    /// Pass the boot VGA device through anyway (the host loses its console).
    public var allowBootVGA: Bool

    public init(address: String, domain: String, allowBootVGA: Bool = false) {
        self.address = address
        self.domain = domain
        self.allowBootVGA = allowBootVGA
    }
}

/// One function to move to `vfio-pci`, and the driver to give it back to afterwards (nil: none was bound).
public struct PassthroughFunction: Equatable, Sendable {
    public var address: String
    public var originalDriver: String?

    public init(address: String, originalDriver: String?) {
        self.address = address
        self.originalDriver = originalDriver
    }

    /// Already on vfio-pci: nothing to bind, and nothing to give back.
    public var needsBinding: Bool { originalDriver != "vfio-pci" }

    public func record(domain: String, lifetime: VGPURequest.Lifetime) -> PassthroughRecord {
        PassthroughRecord(address: address, driver: originalDriver, domain: domain, lifetime: lifetime)
    }
}

/// What a passthrough does: every function of the card, in address order, bound to vfio-pci and attached to the
/// domain; `detach`, `destroy --vm` and `recover` give each back to its original driver.
public struct PassthroughPlan: Equatable, Sendable {
    public var domain: String
    public var functions: [PassthroughFunction]

    /// The steps: every function recorded and bound to vfio-pci first (QEMU opens the whole group, so every
    /// function must be on vfio-pci before libvirt attaches any), then each attached, the definition before the
    /// running domain (as for vGPUs). `scope` `.live` alone makes it a domain-lifetime passthrough (the hook gives
    /// it back when that run ends). Undone whole if interrupted. `hostdev`: the `<hostdev>` XML of an address.
    public func steps(scope: AttachScope, hostdev: (String) throws -> String) rethrows -> Plan {
        let lifetime: VGPURequest.Lifetime = scope == .live ? .domain : .persistent
        var steps = functions.map { Step.bindVFIO($0.record(domain: domain, lifetime: lifetime)) }
        for function in functions {
            let xml = try hostdev(function.address)
            if scope.contains(.config) { steps.append(.attachPCI(domain: domain, address: function.address, xml: xml, scope: .config)) }
            if scope.contains(.live) { steps.append(.attachPCI(domain: domain, address: function.address, xml: xml, scope: .live)) }
        }
        return Plan(operation: "passthrough --vm \(domain)", steps: steps)
    }
}

/// Decides a whole-GPU passthrough from the host's PCI state and which domains already name which PCI devices.
/// Pure: the plan, or the first refusal as a typed error naming the fix (every reason is in its message).
public enum PassthroughPlanner {
    /// `namedBy`: PCI address -> the domains whose definitions name it as a hostdev.
    /// `vfioLoaded`: `/sys/bus/pci/drivers/vfio-pci` exists (nothing could bind the card otherwise).
    /// `records`: functions vgpuctl has already passed through (to any domain).
    public static func plan(_ request: PassthroughRequest, host: PCIHost, namedBy: [String: [String]] = [:],
                            records: [PassthroughRecord] = [], vfioLoaded: Bool = true) throws(VGPUError) -> PassthroughPlan {
        guard let device = host.device(request.address) else {
            throw VGPUError(.notFound, "no PCI device \(request.address)", fix: "run 'vgpuctl gpus' to see the GPUs and their addresses")
        }
        let card = host.slotFunctions(of: device)
        guard let gpu = GPUReport.reports(host).first(where: { report in card.contains { $0.address == report.device.address } }) else {
            throw VGPUError(.invalidInput, "\(request.address) is not a GPU (class \(device.classText)\(device.physfn.map { ", a VF of \($0)" } ?? ""))",
                            fix: "run 'vgpuctl gpus' to see the GPUs; a vendor-specific VFIO VF takes a vGPU with 'vgpuctl create --type'")
        }
        let refusals = gpu.refusals.filter { !(request.allowBootVGA && $0.refusal == .bootVGA) }
        if let first = refusals.first {
            let kind: VGPUError.Kind = switch first.refusal {
            case .iommuOff, .noIOMMUGroup: .host
            case .bootVGA: .invalidInput
            case .groupMemberInUse, .vgpusExist, .vfsEnabled: .busy
            }
            let message = refusals.map { $0.refusal.message($0.address) }.joined(separator: "; ")
            var fix = refusals.map { $0.refusal.fix($0.address) }.joined(separator: "; ")
            if first.refusal == .bootVGA { fix += " (or pass it through anyway, leaving the host without this console)" }
            throw VGPUError(kind, "cannot pass \(gpu.device.address) through: \(message)", fix: fix)
        }
        let functions = [gpu.device] + gpu.functions
        for function in functions {
            let others = (namedBy[function.address] ?? []).filter { $0 != request.domain }.sorted()
            if !others.isEmpty {
                throw VGPUError(.busy, "\(function.address) is already given to domain\(others.count == 1 ? "" : "s") \(others.joined(separator: ", "))",
                                fix: "detach it there first ('vgpuctl detach' or 'virsh detach-device')")
            }
        }
        for function in functions {
            if let record = records.first(where: { $0.address == function.address }), record.domain != request.domain {
                throw VGPUError(.busy, "\(function.address) is passed through to domain \(record.domain)",
                                fix: "give it back first: vgpuctl detach \(function.address) --vm \(record.domain)")
            }
        }
        if !vfioLoaded {
            throw VGPUError(.host, "the vfio-pci driver is not loaded (no /sys/bus/pci/drivers/vfio-pci), so nothing can take \(gpu.device.address)",
                            fix: "modprobe vfio-pci (and list it in /etc/modules-load.d/ to load it at boot)")
        }
        // A function passed through before keeps its first record: its driver then was the host's, vfio-pci now.
        return PassthroughPlan(domain: request.domain,
                               functions: functions.sorted { $0.address < $1.address }.map { function in
                                   PassthroughFunction(address: function.address,
                                                       originalDriver: records.first { $0.address == function.address }?.driver ?? function.driver)
                               })
    }

    /// Giving passed-through functions back: each detached from `domain` where it names them (the running
    /// domain first, then its definition) and returned to its recorded driver. Finished, not undone, if
    /// interrupted (a guest that released the device would have to answer a hot-plug again). `only`: these
    /// addresses (every function of their cards); nil: all of `domain`'s. `inConfig`/`inLive`: the PCI addresses
    /// the domain's definition and its running state name.
    public static func giveBack(domain: String, records: [PassthroughRecord], only: [String]? = nil, inConfig: Set<String>,
                                inLive: Set<String>, hostdev: (String) throws -> String) throws -> Plan {
        var chosen = records.filter { $0.domain == domain }
        if let only {
            let slots = Set(only.map(PCIDevice.slot(of:)))
            let unknown = only.filter { address in !chosen.contains { $0.address == address } }
            if let address = unknown.first {
                let elsewhere = records.first { $0.address == address }
                throw VGPUError(elsewhere == nil ? .notFound : .invalidInput,
                                elsewhere.map { "\(address) is passed through to domain \($0.domain), not \(domain)" }
                                    ?? "\(address) is not a device vgpuctl passed through",
                                fix: elsewhere.map { "vgpuctl detach \(address) --vm \($0.domain)" }
                                    ?? "see 'vgpuctl list --passthrough'; a device attached by hand is detached with virsh detach-device")
            }
            chosen = chosen.filter { slots.contains(PCIDevice.slot(of: $0.address)) }
        }
        chosen.sort { $0.address < $1.address }
        var steps: [Step] = []
        for record in chosen where inLive.contains(record.address) {
            steps.append(.detachPCI(domain: domain, address: record.address, xml: try hostdev(record.address), scope: .live))
        }
        for record in chosen where inConfig.contains(record.address) {
            steps.append(.detachPCI(domain: domain, address: record.address, xml: try hostdev(record.address), scope: .config))
        }
        steps += chosen.map { .restoreDriver($0) }
        return Plan(operation: "give back \(chosen.map(\.address).joined(separator: ", ")) from domain \(domain)", steps: steps, recovery: .rollForward)
    }

    /// The hook at `release end`: a domain-lifetime passthrough goes back to its driver when that run ends
    /// (libvirt has dropped the live-only hostdev with the QEMU that used it).
    public static func releaseAtDomainEnd(domain: String, records: [PassthroughRecord]) -> Plan {
        let ended = records.filter { $0.domain == domain && $0.lifetime == .domain }.sorted { $0.address < $1.address }
        return Plan(operation: "give back \(ended.map(\.address).joined(separator: ", ")) at the end of domain \(domain)",
                    steps: ended.map { .restoreDriver($0) }, recovery: .rollForward)
    }

    /// The hook at `prepare begin`: a persistent passthrough's functions that left vfio-pci (a reboot binds
    /// every device to its own driver again) are bound to it again before QEMU opens them, after the checks of
    /// the passthrough itself (the IOMMU, the group, vGPUs, vfio-pci), except the boot-VGA one the operator
    /// already answered. Only functions the domain's XML still names count; none off vfio-pci: no step.
    public static func rebindAtDomainStart(_ domain: DomainDocument, records: [PassthroughRecord], host: PCIHost,
                                           vfioLoaded: Bool) throws(VGPUError) -> [Step] {
        let name = domain.name ?? "?"
        let mine = records.filter { $0.domain == name && $0.lifetime == .persistent && domain.references(.pci($0.address)) }
        var steps: [Step] = []
        var slotsDone = Set<String>()
        for record in mine where host.device(record.address)?.driver != "vfio-pci" {
            guard host.device(record.address) != nil else {
                throw VGPUError(.notFound, "domain \(name) has PCI device \(record.address) passed through, and the host has no such device now",
                                fix: "see 'vgpuctl gpus'; give the domain's definition the device's new address ('vgpuctl detach \(record.address) --vm \(name)', then 'vgpuctl passthrough ADDRESS --vm \(name)')")
            }
            guard slotsDone.insert(PCIDevice.slot(of: record.address)).inserted else { continue }
            let card: PassthroughPlan
            do {
                card = try plan(PassthroughRequest(address: record.address, domain: name, allowBootVGA: true), host: host,
                                records: records, vfioLoaded: vfioLoaded)
            } catch {
                throw VGPUError(error.kind, "domain \(name) cannot start: its passed-through GPU must go back to vfio-pci, and \(error.message)", fix: error.fix)
            }
            for function in card.functions where host.device(function.address)?.driver != "vfio-pci" {
                steps.append(.bindVFIO(function.record(domain: name, lifetime: .persistent)))
            }
        }
        return steps
    }

    /// Reconcile's part: a passthrough whose domain no longer names the device (undefined, or detached with
    /// virsh) still holds it on vfio-pci; with `prune` it is given back, else reported. A device a domain names
    /// that has left vfio-pci is reported when it is a live-only one (rebound by hand); a persistent one left it at a
    /// reboot, and the hook binds it again when its domain starts.
    /// `driver`: the driver bound to an address now.
    public static func reconcile(records: [PassthroughRecord], domains: [ReconcilePlanner.Domain], driver: (String) -> String?,
                                 prune: Bool) -> (actions: [ReconcilePlanner.Action], problems: [String]) {
        var actions: [ReconcilePlanner.Action] = [], problems: [String] = []
        for record in records.sorted(by: { $0.address < $1.address }) {
            let domain = domains.first { $0.name == record.domain }
            let named = domain.map { $0.definition.references(.pci(record.address)) || $0.live?.references(.pci(record.address)) == true } ?? false
            if !named {
                let why = domain == nil ? "domain \(record.domain) is gone" : "domain \(record.domain) no longer names it"
                if prune {
                    actions.append(ReconcilePlanner.Action(reason: "passthrough of \(record.address): \(why); give it back to \(record.driverText)",
                                                           plan: Plan(operation: "give back \(record.address)", steps: [.restoreDriver(record)],
                                                                      recovery: .rollForward), removes: nil))
                } else {
                    problems.append("passthrough of \(record.address): \(why), but it is still on vfio-pci (reconcile --prune, or vgpuctl detach \(record.address), gives it back to \(record.driverText))")
                }
            } else if record.driver != "vfio-pci", record.lifetime == .domain, let now = driver(record.address), now != "vfio-pci" {
                // A persistent one off vfio-pci is a reboot's doing, and the hook binds it again at the domain's
                // start; a running domain's live-only one was rebound by hand.
                problems.append("passthrough of \(record.address) to domain \(record.domain): it is bound to \(now), not vfio-pci, so the domain cannot use it (vgpuctl passthrough \(record.address) --vm \(record.domain) --live binds it again)")
            }
        }
        return (actions, problems)
    }
}
