/// Whether a hostdev change applies to the domain's persistent definition, the running domain, or both.
public struct AttachScope: OptionSet, Decodable, Equatable, Hashable, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let config = AttachScope(rawValue: 1)
    public static let live = AttachScope(rawValue: 2)
    public static let both: AttachScope = [.config, .live]
}

/// One change to the host. Every step knows its inverse, so a failed plan can be undone in reverse order,
/// and every step is safe to run again (recovery may repeat the step a crash interrupted).
public enum Step: Decodable, Equatable, Sendable {
    case createMdev(uuid: DeviceUUID, parent: String, type: String)
    case removeMdev(uuid: DeviceUUID, parent: String, type: String)
    /// Vendor-specific VFIO: give a free VF a vGPU type (`nvidia/current_vgpu_type`), recorded under `uuid`.
    case assignVF(vf: String, type: String, uuid: DeviceUUID)
    case releaseVF(vf: String, type: String, uuid: DeviceUUID)
    case attachHostdev(domain: String, uuid: DeviceUUID, xml: String, scope: AttachScope)
    case detachHostdev(domain: String, uuid: DeviceUUID, xml: String, scope: AttachScope)
    case writeDefinition(Definition)
    /// `--migratable`: the domain's definition gets the `<qemu:override>` for the hostdev with `alias`.
    case addMigrationOverride(domain: String, alias: String)
    case removeMigrationOverride(domain: String, alias: String)
    case deleteDefinition(Definition)
    /// Record in the domain's vgpuctl metadata that it asks for this vGPU (replacing an entry for the UUID).
    case recordVGPU(domain: String, request: VGPURequest)
    case forgetVGPU(domain: String, request: VGPURequest)
    /// Changes a definition in place (`modify`): the inverse puts the old one back.
    case replaceDefinition(old: Definition, new: Definition)
    /// Writes a definition's attributes, in order, into the sysfs directory of the device it describes, once
    /// the device exists (`start`). Written values cannot be taken back; removing the device (the inverse of
    /// the create step before this one) discards them, so the inverse, `keepAttributes`, does nothing.
    case writeAttributes(uuid: DeviceUUID, parent: String, layout: Layout, attributes: [Definition.Attribute])
    case keepAttributes(uuid: DeviceUUID, parent: String, layout: Layout, attributes: [Definition.Attribute])
    /// Whole-device passthrough: record the function's driver, then bind it to vfio-pci (`driver_override`,
    /// unbind, `drivers_probe`). The inverse gives it back to the recorded driver and drops the record.
    case bindVFIO(PassthroughRecord)
    case restoreDriver(PassthroughRecord)
    /// A `<hostdev type='pci' managed='no'>` naming a passed-through function, like attachHostdev for a vGPU.
    case attachPCI(domain: String, address: String, xml: String, scope: AttachScope)
    case detachPCI(domain: String, address: String, xml: String, scope: AttachScope)

    public var inverse: Step {
        switch self {
        case let .createMdev(uuid, parent, type): return .removeMdev(uuid: uuid, parent: parent, type: type)
        case let .removeMdev(uuid, parent, type): return .createMdev(uuid: uuid, parent: parent, type: type)
        case let .assignVF(vf, type, uuid): return .releaseVF(vf: vf, type: type, uuid: uuid)
        case let .releaseVF(vf, type, uuid): return .assignVF(vf: vf, type: type, uuid: uuid)
        case let .attachHostdev(domain, uuid, xml, scope): return .detachHostdev(domain: domain, uuid: uuid, xml: xml, scope: scope)
        case let .detachHostdev(domain, uuid, xml, scope): return .attachHostdev(domain: domain, uuid: uuid, xml: xml, scope: scope)
        case let .addMigrationOverride(domain, alias): return .removeMigrationOverride(domain: domain, alias: alias)
        case let .removeMigrationOverride(domain, alias): return .addMigrationOverride(domain: domain, alias: alias)
        case let .writeDefinition(definition): return .deleteDefinition(definition)
        case let .deleteDefinition(definition): return .writeDefinition(definition)
        case let .recordVGPU(domain, request): return .forgetVGPU(domain: domain, request: request)
        case let .forgetVGPU(domain, request): return .recordVGPU(domain: domain, request: request)
        case let .replaceDefinition(old, new): return .replaceDefinition(old: new, new: old)
        case let .writeAttributes(uuid, parent, layout, attributes):
            return .keepAttributes(uuid: uuid, parent: parent, layout: layout, attributes: attributes)
        case let .keepAttributes(uuid, parent, layout, attributes):
            return .writeAttributes(uuid: uuid, parent: parent, layout: layout, attributes: attributes)
        case let .bindVFIO(record): return .restoreDriver(record)
        case let .restoreDriver(record): return .bindVFIO(record)
        case let .attachPCI(domain, address, xml, scope): return .detachPCI(domain: domain, address: address, xml: xml, scope: scope)
        case let .detachPCI(domain, address, xml, scope): return .attachPCI(domain: domain, address: address, xml: xml, scope: scope)
        }
    }

    /// One line for humans: `vgpuctl plan`, `--dry-run` and error messages.
    public var summary: String {
        switch self {
        case let .createMdev(uuid, parent, type): return "create \(type) vGPU \(uuid) on \(parent)"
        case let .removeMdev(uuid, parent, _): return "remove vGPU \(uuid) from \(parent)"
        case let .assignVF(vf, type, uuid): return "assign \(type) to VF \(vf) as vGPU \(uuid)"
        case let .releaseVF(vf, _, uuid): return "release VF \(vf) (vGPU \(uuid))"
        case let .attachHostdev(domain, uuid, _, scope): return "attach vGPU \(uuid) to domain \(domain) (\(scope.label))"
        case let .detachHostdev(domain, uuid, _, scope): return "detach vGPU \(uuid) from domain \(domain) (\(scope.label))"
        case let .writeDefinition(d): return "define vGPU \(d.uuid) (\(d.type) on \(d.parent), start \(d.start.rawValue))"
        case let .deleteDefinition(d): return "undefine vGPU \(d.uuid)"
        case let .addMigrationOverride(domain, alias): return "let QEMU migrate hostdev \(alias) of domain \(domain) (x-device-dirty-page-tracking=off, enable-migration=on)"
        case let .removeMigrationOverride(domain, alias): return "drop the migration override of hostdev \(alias) from domain \(domain)"
        case let .recordVGPU(domain, r): return "record in domain \(domain)'s metadata: \(r.type) vGPU \(r.uuid), lifetime \(r.lifetime.rawValue)"
        case let .forgetVGPU(domain, r): return "drop vGPU \(r.uuid) from domain \(domain)'s metadata"
        case let .replaceDefinition(_, d):
            return "redefine vGPU \(d.uuid) (\(d.type) on \(d.parent), start \(d.start.rawValue), \(d.attributes.count) attribute(s))"
        case let .writeAttributes(uuid, _, _, attributes):
            return "write \(attributes.count) attribute(s) of vGPU \(uuid) (\(attributes.map(\.name).joined(separator: ", ")))"
        case let .keepAttributes(uuid, _, _, _): return "leave the attributes of vGPU \(uuid) (removing it discards them)"
        case let .bindVFIO(r): return "bind \(r.address) to vfio-pci (from \(r.driverText)) for domain \(r.domain)"
        case let .restoreDriver(r): return "give \(r.address) back to \(r.driverText)"
        case let .attachPCI(domain, address, _, scope): return "attach PCI device \(address) to domain \(domain) (\(scope.label))"
        case let .detachPCI(domain, address, _, scope): return "detach PCI device \(address) from domain \(domain) (\(scope.label))"
        }
    }
}

extension AttachScope {
    public var label: String {
        switch self {
        case .both: return "config+live"
        case .live: return "live"
        default: return "config"
        }
    }
}

/// An ordered list of steps run as one transaction by the executor.
public struct Plan: Decodable, Equatable, Sendable {
    /// What to do with a plan a crash interrupted: undo what was done (create), or finish it (destroy).
    public enum Recovery: String, Codable, Sendable { case rollBack = "roll-back", rollForward = "roll-forward" }

    public var operation: String
    public var steps: [Step]
    public var recovery: Recovery

    public init(operation: String, steps: [Step], recovery: Recovery = .rollBack) {
        self.operation = operation
        self.steps = steps
        self.recovery = recovery
    }
}
