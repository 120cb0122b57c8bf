import VGPUCore
import VGPUHost

/// `vgpuctl recover`: the session finishes or undoes interrupted operations as it starts; this reports them.
public struct Recover: ChangeUseCase {
    public init() {}

    public func run(in session: Session) throws -> [String] { session.recovered }
}
