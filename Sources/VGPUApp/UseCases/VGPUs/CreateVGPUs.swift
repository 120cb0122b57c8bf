import VGPUCore
import VGPUHost

/// Places and creates vGPUs that no domain is involved in (one transaction); `persist` also defines them (start
/// auto) with `attributes`, which the new vGPUs get now too. libvirt is not asked.
public struct CreateVGPUs: ChangeUseCase {
    public var request: PlacementRequest
    public var uuids: [DeviceUUID]
    public var persist: Bool
    public var attributes: [Definition.Attribute]

    public init(_ request: PlacementRequest, uuids: [DeviceUUID], persist: Bool, attributes: [Definition.Attribute] = []) {
        self.request = request
        self.uuids = uuids
        self.persist = persist
        self.attributes = attributes
    }

    public func run(in session: Session) throws -> [Placement] {
        try Validation.attributes(attributes)
        let environment = session.environment
        var (placements, plan) = try LifecyclePlanner.create(request, uuids: uuids, inventory: environment.inventory(),
                                                             config: environment.placementConfig())
        if persist { plan = DefinitionPlanner.persisting(plan, start: .auto, attributes: attributes) }
        try session.execute(plan)
        return placements
    }
}
