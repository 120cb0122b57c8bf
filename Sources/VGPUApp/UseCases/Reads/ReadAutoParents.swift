import VGPUCore
import VGPUHost

/// The parents that have at least one auto definition (definitions only: no lock, no sysfs scan).
public struct ReadAutoParents: ReadUseCase {
    public init() {}

    public func read(in environment: Environment) throws -> Set<String> {
        Set(environment.definitionStore.all().definitions.filter { $0.start == .auto }.map(\.parent))
    }
}
