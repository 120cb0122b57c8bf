import VGPUCore
import VGPUHost

/// `vgpuctl plan`: where `create` would place the vGPUs, and why; no lock, no change.
public struct PreviewPlacement: ReadUseCase {
    public var request: PlacementRequest

    public init(_ request: PlacementRequest) { self.request = request }

    public func read(in environment: Environment) throws -> [Placement] {
        try Placer(inventory: environment.inventory(), config: environment.placementConfig()).place(request)
    }
}
