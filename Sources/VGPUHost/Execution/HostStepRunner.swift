import VGPUCore

/// Runs steps against the real host through the adapters.
public struct HostStepRunner: StepRunner {
    public let sysfs: SysfsWriter
    /// Needed only by plans that attach or detach; nil otherwise.
    public let hypervisor: Hypervisor?
    /// How long a live detach waits for the guest to release the device.
    public let detachTimeout: Double

    public init(sysfs: SysfsWriter, hypervisor: Hypervisor? = nil, detachTimeout: Double = 30) {
        self.sysfs = sysfs
        self.hypervisor = hypervisor
        self.detachTimeout = detachTimeout
    }

    public func run(_ step: Step) throws {
        switch step {
        case let .createMdev(uuid, parent, type): try sysfs.createMdev(uuid, parent: parent, type: type)
        case let .removeMdev(uuid, _, _): try sysfs.removeMdev(uuid)
        case let .assignVF(vf, type, uuid): try sysfs.assignVF(vf, type: type, uuid: uuid)
        case let .releaseVF(vf, _, uuid): try sysfs.releaseVF(vf, uuid: uuid)
        case let .attachHostdev(domain, _, xml, scope): try libvirt(step).attach(xml, to: domain, scope: scope)
        case let .detachHostdev(domain, _, xml, scope): try libvirt(step).detach(xml, from: domain, scope: scope, timeout: detachTimeout)
        case .writeDefinition, .deleteDefinition:
            throw VGPUError(.internalError, "\(step.summary): not supported by this runner")
        }
    }

    private func libvirt(_ step: Step) throws -> Hypervisor {
        guard let hypervisor else { throw VGPUError(.internalError, "\(step.summary): no libvirt connection") }
        return hypervisor
    }
}
