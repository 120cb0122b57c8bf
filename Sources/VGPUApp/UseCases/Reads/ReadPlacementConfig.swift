import VGPUCore
import VGPUHost

/// The config file (groups, policies, layouts, the hook's and the daemon's settings); none: the defaults.
public struct ReadPlacementConfig: ReadUseCase {
    public init() {}

    public func read(in environment: Environment) throws -> PlacementConfig { try environment.placementConfig() }
}
