import VGPUCore
import VGPUHost

/// After a live migration: removes the source's vGPUs and their definitions (one journaled plan, rolled
/// forward). Never calls libvirt: the domain has left.
public struct ReleaseMigratedVGPUs: ChangeUseCase {
    public var devices: [MigratingVGPU]

    public init(devices: [MigratingVGPU]) { self.devices = devices }

    public var sessionOptions: SessionOptions { SessionOptions(reachesLibvirt: false) }

    /// What was released, one line per step.
    public func run(in session: Session) throws -> [String] {
        let plan = MigrationPlanner.release(devices, inventory: try session.environment.inventory())
        if !plan.steps.isEmpty { try session.execute(plan) }
        return plan.steps.map(\.summary)
    }
}
