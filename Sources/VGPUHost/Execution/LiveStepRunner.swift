import VGPUCore

/// Runs steps against the real host through the adapters. Each step first checks whether it is already done
/// (recovery repeats steps), then acts.
public struct LiveStepRunner: StepRunner {
    public let sysfs: SysfsWriter
    public let definitions: DefinitionStore
    /// How long a live detach waits for the guest to release the device.
    public let detachTimeout: Double
    /// Asked for only by attach and detach steps, so plans without them never connect to libvirt (the caller
    /// opens the connection on first use and keeps it).
    private let hypervisor: () throws -> Hypervisor
    /// The XML templates, for metadata steps (a session reads them once: see Session.templates()).
    private let templates: () throws -> HostdevXML

    public init(sysfs: SysfsWriter, definitions: DefinitionStore, detachTimeout: Double = 30,
                templates: @escaping () throws -> HostdevXML = { try TemplateStore.load() },
                hypervisor: @escaping () throws -> Hypervisor) {
        self.sysfs = sysfs
        self.definitions = definitions
        self.detachTimeout = detachTimeout
        self.templates = templates
        self.hypervisor = hypervisor
    }

    public func run(_ step: Step) throws {
        switch step {
        case let .createMdev(uuid, parent, type): try sysfs.createMdev(uuid, parent: parent, type: type)
        case let .removeMdev(uuid, _, _): try sysfs.removeMdev(uuid)
        case let .assignVF(vf, type, uuid): try sysfs.assignVF(vf, type: type, uuid: uuid)
        case let .releaseVF(vf, _, uuid): try sysfs.releaseVF(vf, uuid: uuid)
        case let .attachHostdev(domain, _, xml, scope):
            let libvirt = try hypervisor()
            if try references(libvirt, domain: domain, scope: scope, xml: xml) != false { return }
            try libvirt.attach(xml, to: domain, scope: scope)
        case let .detachHostdev(domain, _, xml, scope):
            let libvirt = try hypervisor()
            if try references(libvirt, domain: domain, scope: scope, xml: xml) != true { return }
            try libvirt.detach(xml, from: domain, scope: scope, timeout: detachTimeout)
        case let .writeDefinition(definition): try definitions.write(definition)
        case let .deleteDefinition(definition): try definitions.delete(definition)
        case let .recordVGPU(domain, request): try updateMetadata(of: domain) { $0.filter { $0.uuid != request.uuid } + [request] }
        case let .forgetVGPU(domain, request): try updateMetadata(of: domain) { $0.filter { $0.uuid != request.uuid } }
        case let .replaceDefinition(old, new): try definitions.replace(old, with: new)
        case let .writeAttributes(uuid, parent, layout, attributes):
            try sysfs.writeAttributes(attributes, uuid: uuid, parent: parent, layout: layout)
        case .keepAttributes: break  // see Step.writeAttributes: removing the device discards them
        case let .bindVFIO(record): try binding.bind(record)
        case let .restoreDriver(record): try binding.restore(record)
        case let .attachPCI(domain, _, xml, scope):
            let libvirt = try hypervisor()
            if try references(libvirt, domain: domain, scope: scope, xml: xml) != false { return }
            try libvirt.attach(xml, to: domain, scope: scope)
        case let .detachPCI(domain, _, xml, scope):
            let libvirt = try hypervisor()
            if try references(libvirt, domain: domain, scope: scope, xml: xml) != true { return }
            try libvirt.detach(xml, from: domain, scope: scope, timeout: detachTimeout)
        case let .addMigrationOverride(domain, alias): try redefine(domain, "add the migration override of \(alias)") {
            try DomainEdits.addingMigrationOverride(in: $0, alias: alias, what: $1)
        }
        case let .removeMigrationOverride(domain, alias): try redefine(domain, "remove the migration override of \(alias)") {
            try DomainEdits.removingMigrationOverride(in: $0, alias: alias, what: $1)
        }
        }
    }

    /// Whole-device passthrough's driver moves, through the same OS handle and write bound as sysfs.
    var binding: PCIDriverBinding { PCIDriverBinding(paths: sysfs.paths, os: sysfs.os, unbindBound: sysfs.writeBound ?? 30) }

    public func runDeferringDurability(_ step: Step) throws {
        switch step {
        case let .writeDefinition(definition): try definitions.write(definition, durable: false)
        case let .deleteDefinition(definition): try definitions.delete(definition, durable: false)
        case let .replaceDefinition(old, new): try definitions.replace(old, with: new, durable: false)
        default: try run(step)
        }
    }

    public func makeDurable() throws { try definitions.makeDurable() }

    /// Redefines the domain with its persistent XML changed by `change` (nil: nothing to change, so a repeated
    /// step does nothing).
    private func redefine(_ domain: String, _ purpose: String, _ change: (String, String) throws -> String?) throws {
        let libvirt = try hypervisor()
        let xml = try libvirt.xml(of: domain, inactive: true)
        guard let changed = try change(xml, "the inactive XML of domain \(domain)"), changed != xml else { return }
        do { try libvirt.define(changed) } catch let error as VGPUError {
            throw VGPUError(error.kind, "could not \(purpose) in domain \(domain): \(error.message)", fix: error.fix)
        }
    }

    /// Rewrites the domain's vgpuctl metadata (persistent definition, and the running domain if it runs);
    /// nothing is written when it already says what it should.
    private func updateMetadata(of domain: String, _ change: ([VGPURequest]) -> [VGPURequest]) throws {
        let libvirt = try hypervisor()
        let current = try libvirt.vgpuRequests(of: domain)
        let wanted = change(current)
        if wanted == current { return }
        let element = try templates().metadata(wanted)
        let scope: AttachScope = try libvirt.domain(domain).isActive ? .both : .config
        try libvirt.setMetadata(element, namespace: VGPUMetadata.namespace, prefix: VGPUMetadata.prefix, domain: domain, scope: scope)
    }

    /// Whether the domain's definition (config) or running state (live) already references the device of `xml`;
    /// nil when the domain does not run and the scope is live (nothing to attach to or detach from).
    private func references(_ libvirt: Hypervisor, domain: String, scope: AttachScope, xml: String) throws -> Bool? {
        if scope == .live, try !libvirt.domain(domain).isActive { return nil }
        let text = try libvirt.xml(of: domain, inactive: scope == .config)
        let document = try DomainDocument(xml: text, what: "the \(scope == .config ? "inactive" : "live") XML of domain \(domain)")
        return document.references(try DomainDocument.source(ofHostdev: xml))
    }
}
