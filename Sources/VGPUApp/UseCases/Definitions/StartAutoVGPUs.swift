import VGPUCore
import VGPUHost

/// Starts every auto definition that is not running (of `parent`, or of every parent), each on its own: one
/// result per definition, so a front end can report each (one failure does not stop the others).
public struct StartAutoVGPUs: ChangeUseCase {
    public var parent: String?

    public init(parent: String? = nil) { self.parent = parent }

    public func run(in session: Session) throws -> [(definition: Definition, result: Result<Void, VGPUError>)] {
        try DefinitionPlanner.startAuto(inventory: session.environment.inventory())
            .filter { parent == nil || $0.0.parent == parent }
            .map { definition, planned in
                do {
                    let plan = try planned.get()
                    try session.withCallouts(.start, definition) { try session.execute(plan) }
                    return (definition, .success(()))
                } catch let error as VGPUError {
                    return (definition, .failure(error))
                }
            }
    }
}
