import VGPUCore
import VGPUHost

/// The one door every front end (the CLI, its fast path, the libvirt hook, vgpud, migrate) goes through: it holds
/// the process's `Environment` and how changes take the host lock, and runs use cases of three kinds:
///
/// - `run(_: ChangeUseCase)`: one `Session` (host lock, recovery of interrupted operations), in which the use
///   case reads one snapshot of the host, asks one pure planner (VGPUCore/Planners) for a Plan and hands it to
///   the session's executor (journaled, undone on failure);
/// - `read(_: ReadUseCase)`: no lock, no change, a value back;
/// - `perform(_: ProcedureUseCase)`: what must not hold the host lock across its work and is made of the two
///   above (a live migration, during which the source's own hook takes the lock; the hook's link).
public struct Application: Sendable {
    public let environment: Environment
    /// Seconds a change waits for the host lock another process holds.
    public var lockWait: Double
    public var libvirt: LibvirtSettings
    /// Who holds the lock, for the message another waiter sees (e.g. "vgpuctl create --type mtty-2").
    public var command: String

    public init(environment: Environment, lockWait: Double = 60, libvirt: LibvirtSettings = LibvirtSettings(), command: String) {
        self.environment = environment
        self.lockWait = lockWait
        self.libvirt = libvirt
        self.command = command
    }

    public func run<U: ChangeUseCase>(_ useCase: U) throws -> U.Output {
        let options = useCase.sessionOptions
        var libvirt = libvirt
        if !options.reachesLibvirt { libvirt.reachable = false }
        let session = try Session(environment: environment, wait: options.lockWait ?? lockWait, libvirt: libvirt,
                                  command: options.command ?? command, recover: options.recover, writeBound: options.writeBound)
        return try withExtendedLifetime(session) { try useCase.run(in: session) }
    }

    public func read<U: ReadUseCase>(_ useCase: U) throws -> U.Output {
        try useCase.read(in: environment)
    }

    public func perform<U: ProcedureUseCase>(_ useCase: U) throws -> U.Output {
        try useCase.perform(with: self)
    }
}

/// A change to the host, run inside one session (see `Application.run`).
public protocol ChangeUseCase {
    associatedtype Output
    /// How the session is opened; the default suits every command but the hook.
    var sessionOptions: SessionOptions { get }
    func run(in session: Session) throws -> Output
}

extension ChangeUseCase {
    public var sessionOptions: SessionOptions { SessionOptions() }
}

/// A read of the host: no lock, no change.
public protocol ReadUseCase {
    associatedtype Output
    func read(in environment: Environment) throws -> Output
}

/// Work that runs change and read use cases itself, because it must not hold the host lock throughout.
public protocol ProcedureUseCase {
    associatedtype Output
    func perform(with application: Application) throws -> Output
}

/// How `Application.run` opens a use case's session.
public struct SessionOptions: Sendable {
    /// False: leave interrupted operations to the next command (the hook, which must not reach libvirt, cannot
    /// finish a libvirt step).
    public var recover = true
    /// False: the session must never connect to libvirt (the hook: libvirtd holds the domain's job while it runs).
    public var reachesLibvirt = true
    /// Seconds a write that can block without end may take before it is given up (the hook's); nil: no bound.
    public var writeBound: Double?
    /// Overrides the application's lock wait and holder name.
    public var lockWait: Double?
    public var command: String?

    public init(recover: Bool = true, reachesLibvirt: Bool = true, writeBound: Double? = nil, lockWait: Double? = nil, command: String? = nil) {
        self.recover = recover
        self.reachesLibvirt = reachesLibvirt
        self.writeBound = writeBound
        self.lockWait = lockWait
        self.command = command
    }
}
