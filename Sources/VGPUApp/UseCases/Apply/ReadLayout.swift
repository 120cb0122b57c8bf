import VGPUCore
import VGPUHost

/// The config file's layout `name` (nil: its `layout = "NAME"`), with the config it is placed under.
public struct ReadLayout: ReadUseCase {
    public var name: String?

    public init(name: String?) { self.name = name }

    public func read(in environment: Environment) throws -> (layout: DeclaredLayout, config: PlacementConfig) {
        let config = try environment.placementConfig()
        return (try ApplyLayout.layout(named: name, in: config, file: environment.configFile), config)
    }
}
