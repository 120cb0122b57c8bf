/// How vGPUs are placed on physical GPUs: `pack` fills the GPU that already hosts the most of the type before
/// opening another (depth-first); `spread` puts one on each GPU in turn, least loaded first (breadth-first).
public enum PlacementPolicy: String, Codable, Sendable, CaseIterable {
    case pack, spread
}

/// A pool of physical GPUs with one placement policy.
public struct GPUGroup: Equatable, Sendable {
    public var name: String
    public var policy: PlacementPolicy
    /// Physical GPU ids (PF PCI address, or the parent name for GPUs that are not SR-IOV); empty means
    /// "every GPU no other group names".
    public var gpus: [String]

    public init(name: String, policy: PlacementPolicy, gpus: [String]) {
        self.name = name
        self.policy = policy
        self.gpus = gpus
    }
}

/// Per-GPU rules.
public struct GPURules: Equatable, Sendable {
    /// Types this GPU may host (a reservation); nil allows every type.
    public var enabledTypes: Set<String>?
    /// Whether the GPU may host different types at once; nil uses the vendor default (NVIDIA: no).
    public var heterogeneous: Bool?
    /// SR-IOV VFs vgpud enables on this PF at start (`sriov_numvfs`); nil leaves the count alone.
    public var sriovNumVFs: Int?

    public init(enabledTypes: Set<String>? = nil, heterogeneous: Bool? = nil, sriovNumVFs: Int? = nil) {
        self.enabledTypes = enabledTypes
        self.heterogeneous = heterogeneous
        self.sriovNumVFs = sriovNumVFs
    }
}

/// The host's placement configuration. With no config file every GPU is in the group `default`, policy `pack`:
/// packing keeps whole GPUs free for other types, which matters because NVIDIA GPUs host one type at a time.
public struct PlacementConfig: Equatable, Sendable {
    public static let defaultGroupName = "default"
    public static let defaultPolicy = PlacementPolicy.pack

    public var groups: [GPUGroup]
    public var rules: [String: GPURules]
    /// The `[vgpud]` table (the config file is one file for the whole host).
    public var daemon: DaemonSettings
    /// The `[layouts.NAME]` tables, by name.
    public var layouts: [String: DeclaredLayout]
    /// The top-level `layout = "NAME"`: what a bare `vgpuctl apply` and vgpud apply; nil: none.
    public var selectedLayout: String?
    /// `[hook] lock_wait`: seconds the libvirt hook waits for the host lock; nil: its default (10). A file setting,
    /// since libvirtd runs hooks with only LC_ALL, PATH and HOME (VGPUCTL_HOOK_WAIT never reaches them there).
    public var hookLockWait: Int?

    public init(groups: [GPUGroup] = [], rules: [String: GPURules] = [:], daemon: DaemonSettings = DaemonSettings(),
                layouts: [String: DeclaredLayout] = [:], selectedLayout: String? = nil, hookLockWait: Int? = nil) {
        self.groups = groups.isEmpty ? [GPUGroup(name: Self.defaultGroupName, policy: Self.defaultPolicy, gpus: [])] : groups
        self.rules = rules
        self.daemon = daemon
        self.layouts = layouts
        self.selectedLayout = selectedLayout
        self.hookLockWait = hookLockWait
    }

    /// PF address → VFs to enable, from `sriov_numvfs`, sorted by address.
    public var sriovNumVFs: [(pf: String, count: Int)] {
        rules.compactMap { gpu, rule in rule.sriovNumVFs.map { (gpu, $0) } }.sorted { $0.pf < $1.pf }
    }

    /// The group a GPU belongs to: the first that names it, else the first catch-all group.
    public func group(of gpu: String) -> GPUGroup? {
        groups.first { $0.gpus.contains(gpu) } ?? groups.first { $0.gpus.isEmpty }
    }
}

/// NVIDIA's PCI vendor id: its time-sliced vGPUs require every vGPU on a GPU to be of one type.
public let nvidiaVendorID = "0x10de"

/// vgpud's settings from the config file's `[vgpud]` table; its command-line options override them.
public struct DaemonSettings: Equatable, Sendable {
    /// Seconds between reconcile runs; nil: the built-in default (300).
    public var reconcileInterval: Int?
    /// Whether reconcile may remove orphaned vGPUs; nil: no.
    public var prune: Bool?

    public init(reconcileInterval: Int? = nil, prune: Bool? = nil) {
        self.reconcileInterval = reconcileInterval
        self.prune = prune
    }
}
