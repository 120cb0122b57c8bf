/// What a domain says it needs, recorded by vgpuctl in the domain's `<metadata>` (see VGPUMetadata): a vGPU of
/// a type under a UUID, and how long it lives.
public struct VGPURequest: Codable, Equatable, Hashable, Sendable {
    public enum Lifetime: String, Codable, Sendable, CaseIterable {
        /// Created once and kept (defined or not) until destroyed: `create --vm`, `attach`.
        case persistent
        /// Exists only while the domain runs: the hook creates it at start and removes it at stop.
        case domain
    }

    public var uuid: DeviceUUID
    public var type: String
    public var lifetime: Lifetime
    /// Placement hints for the hook and reconcile when they create it.
    public var group: String?
    public var policy: PlacementPolicy?
    /// Set when the vGPU migrates: the source had it defined (with this start policy), so the destination
    /// defines the vGPU it provides. nil: no definition.
    public var defined: Definition.Start?
    /// A vendor-specific VFIO vGPU of domain lifetime: the VF reserved for it (its PCI address, which the
    /// domain's `<hostdev type='pci'>` names), given the type at each start and released at each stop.
    public var vf: String?

    public init(uuid: DeviceUUID, type: String, lifetime: Lifetime, group: String? = nil, policy: PlacementPolicy? = nil,
                defined: Definition.Start? = nil, vf: String? = nil) {
        self.defined = defined
        self.vf = vf
        self.uuid = uuid
        self.type = type
        self.lifetime = lifetime
        self.group = group
        self.policy = policy
    }
}
