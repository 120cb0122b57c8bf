import VGPUCore
import VGPUHost

/// `vgpuctl passthrough --dry-run`: the same decision and plan as PassthroughGPU; no lock, no change.
public struct PreviewPassthrough: ReadUseCase {
    public var passthrough: PassthroughGPU

    public init(_ passthrough: PassthroughGPU) { self.passthrough = passthrough }

    public func read(in environment: Environment) throws -> PassthroughGPU.Outcome {
        try PassthroughGPU.decide(passthrough.request, config: passthrough.config, live: passthrough.live, environment: environment,
                                  libvirt: SessionReads(try environment.connect()), templates: environment.templates())
    }
}
