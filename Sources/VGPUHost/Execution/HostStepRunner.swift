import VGPUCore

/// Runs steps against the real host through the adapters.
public struct HostStepRunner: StepRunner {
    public let sysfs: SysfsWriter

    public init(sysfs: SysfsWriter) {
        self.sysfs = sysfs
    }

    public func run(_ step: Step) throws {
        switch step {
        case let .createMdev(uuid, parent, type): try sysfs.createMdev(uuid, parent: parent, type: type)
        case let .removeMdev(uuid, _, _): try sysfs.removeMdev(uuid)
        case let .assignVF(vf, type, uuid): try sysfs.assignVF(vf, type: type, uuid: uuid)
        case let .releaseVF(vf, _, uuid): try sysfs.releaseVF(vf, uuid: uuid)
        case .attachHostdev, .detachHostdev, .writeDefinition, .deleteDefinition:
            throw VGPUError(.internalError, "\(step.summary): not supported by this runner")
        }
    }
}
