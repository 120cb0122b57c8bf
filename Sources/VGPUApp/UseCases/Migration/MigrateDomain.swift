import VGPUCore
import VGPUHost

/// `vgpuctl migrate`: a `LiveMigration` of `domain` from the environment's libvirt to `options.destination`.
public struct MigrateDomain: ProcedureUseCase {
    public var domain: String
    public var options: LiveMigration.Options
    /// Each of the pre-copy policy's decisions as it is made.
    public var log: (String) -> Void

    public init(domain: String, options: LiveMigration.Options, log: @escaping (String) -> Void) {
        self.domain = domain
        self.options = options
        self.log = log
    }

    public func perform(with application: Application) throws -> LiveMigration.Report {
        let source = try application.environment.connect()
        let destination = application.environment.connecting(to: options.destination)
        return try LiveMigration(application: application, options: options)
            .run(domain: domain, source: source, destination: { try destination.connect().nodeDevices() }, log: log)
    }
}
