/// What the caller wants placed.
public struct PlacementRequest: Equatable, Sendable {
    public var type: String
    public var count: Int
    /// Place only on this parent (skips the policy, still checks capacity and rules).
    public var parent: String?
    public var group: String?
    /// Overrides the group's policy.
    public var policy: PlacementPolicy?
    /// Prefer GPUs on this NUMA node (the domain's pinned node), when any has room.
    public var numaNode: Int?

    public init(type: String, count: Int = 1, parent: String? = nil, group: String? = nil,
                policy: PlacementPolicy? = nil, numaNode: Int? = nil) {
        self.type = type
        self.count = count
        self.parent = parent
        self.group = group
        self.policy = policy
        self.numaNode = numaNode
    }
}

/// Where one vGPU lands, and why.
public struct Placement: Codable, Equatable, Sendable {
    public var parent: String
    public var gpu: String
    public var type: String
    public var layout: Layout
    public var reason: String
}

/// Pure placement: Inventory + config + request -> placements, or a typed refusal. Changes nothing.
public struct Placer: Sendable {
    public let inventory: Inventory
    public let config: PlacementConfig

    public init(inventory: Inventory, config: PlacementConfig = PlacementConfig()) {
        self.inventory = inventory
        self.config = config
    }

    public func place(_ request: PlacementRequest) throws -> [Placement] {
        guard request.count > 0 else {
            throw VGPUError(.invalidInput, "count \(request.count) is not positive", fix: "give --count 1 or more")
        }
        try checkTypeExists(request.type)
        if let parent = request.parent { _ = try check(parent: parent, offers: request.type) }
        let group = try resolveGroup(request.group)
        var state = SimulatedHost(inventory: inventory)
        var placements: [Placement] = []
        for index in 0..<request.count {
            guard let placement = choose(request, group: group, state: state) else {
                throw shortage(request, placed: index, group: group, state: state)
            }
            state.record(placement)
            placements.append(placement)
        }
        return placements
    }

    // MARK: choosing

    private func choose(_ request: PlacementRequest, group: GPUGroup?, state: SimulatedHost) -> Placement? {
        let candidates = eligibleParents(request, group: group, state: state)
        guard !candidates.isEmpty else { return nil }
        let onNode = request.numaNode.map { node in candidates.filter { $0.numaNode == node } } ?? []
        let pool = onNode.isEmpty ? candidates : onNode
        let policy = request.policy ?? group?.policy ?? PlacementConfig.defaultPolicy
        let chosen: Parent
        let why: String
        if request.parent != nil {
            chosen = pool[0]
            why = "parent \(chosen.name) was asked for"
        } else {
            switch policy {
            case .pack:
                // Depth-first: the GPU that already hosts the most of this type, then the fullest parent on it.
                chosen = pool.min { lhs, rhs in
                    let l = (state.count(of: request.type, onGPU: lhs.gpu), state.count(of: request.type, onParent: lhs.name))
                    let r = (state.count(of: request.type, onGPU: rhs.gpu), state.count(of: request.type, onParent: rhs.name))
                    return l != r ? l > r : (lhs.gpu, lhs.name) < (rhs.gpu, rhs.name)
                }!
                let hosted = state.count(of: request.type, onGPU: chosen.gpu)
                let hostedAnywhere = state.parents.contains { state.count(of: request.type, onParent: $0.name) > 0 }
                why = hosted > 0 ? "pack: GPU \(chosen.gpu) already hosts \(hosted) × \(request.type)"
                    : hostedAnywhere ? "pack: no GPU with room hosts \(request.type) yet; \(chosen.gpu) is the first with room"
                    : "pack: no GPU hosts \(request.type) yet; \(chosen.gpu) is the first with room"
            case .spread:
                // Breadth-first: the GPU with the fewest vGPUs of any type, then the emptiest parent on it.
                chosen = pool.min { lhs, rhs in
                    let l = (state.load(onGPU: lhs.gpu), state.load(onParent: lhs.name))
                    let r = (state.load(onGPU: rhs.gpu), state.load(onParent: rhs.name))
                    return l != r ? l < r : (lhs.gpu, lhs.name) < (rhs.gpu, rhs.name)
                }!
                why = "spread: GPU \(chosen.gpu) is the least loaded (\(state.load(onGPU: chosen.gpu)) vGPUs)"
            }
        }
        return Placement(parent: chosen.name, gpu: chosen.gpu, type: request.type, layout: chosen.layout,
                         reason: why + Self.numaNote(request, chosen: chosen, preferred: !onNode.isEmpty, state: state))
    }

    /// Why the NUMA preference did or did not decide: on the domain's node, or why not (no GPU there at all, or
    /// none there with room), so that `plan` explains a placement on another node.
    private static func numaNote(_ request: PlacementRequest, chosen: Parent, preferred: Bool, state: SimulatedHost) -> String {
        guard let node = request.numaNode else { return "" }
        if preferred { return "; on the domain's NUMA node \(node)" }
        let landed = chosen.numaNode.map { "node \($0)" } ?? "a GPU with no NUMA node"
        guard state.parents.contains(where: { $0.numaNode == node }) else {
            return "; no GPU is on the domain's NUMA node \(node), so \(landed)"
        }
        return "; the GPUs on the domain's NUMA node \(node) have no room for \(request.type), so \(landed)"
    }

    /// Parents that could take one more vGPU of the type now, honouring group, reservations and homogeneity.
    private func eligibleParents(_ request: PlacementRequest, group: GPUGroup?, state: SimulatedHost) -> [Parent] {
        state.parents.filter { parent in
            if let wanted = request.parent, parent.name != wanted { return false }
            if let group, request.parent == nil, config.group(of: parent.gpu)?.name != group.name { return false }
            return refusal(parent, type: request.type, state: state) == nil
        }
    }

    /// Why a parent cannot take one more vGPU of the type, or nil if it can.
    func refusal(_ parent: Parent, type: String, state: SimulatedHost) -> String? {
        guard let offered = parent.type(type) else { return "does not offer \(type)" }
        guard offered.availableInstances > 0 else { return "has no free instance of \(type)" }
        let rules = config.rules[parent.gpu] ?? GPURules()
        if let enabled = rules.enabledTypes, !enabled.contains(type) {
            return "GPU \(parent.gpu) is reserved for \(enabled.sorted().joined(separator: ", "))"
        }
        let heterogeneous = rules.heterogeneous ?? (parent.vendor != nvidiaVendorID)
        if !heterogeneous, let other = state.types(onGPU: parent.gpu).first(where: { $0 != type }) {
            return "GPU \(parent.gpu) hosts \(other) and runs one type at a time"
        }
        return nil
    }

    // MARK: refusals

    private func checkTypeExists(_ type: String) throws {
        guard inventory.parents.contains(where: { $0.type(type) != nil }) else {
            let known = inventory.typeIDs
            throw VGPUError(.notFound, "unknown vGPU type '\(Validation.printable(type))'",
                            fix: known.isEmpty ? "this host offers no vGPU types: is the vendor driver loaded?"
                                               : "choose one of: \(known.joined(separator: ", ")) (see 'vgpuctl types')")
        }
    }

    /// The parent, if it exists and offers the type (capacity is not checked).
    public func check(parent name: String, offers type: String) throws -> Parent {
        try checkTypeExists(type)
        guard let parent = inventory.parent(name) else {
            throw VGPUError(.notFound, "unknown parent '\(Validation.printable(name))'",
                            fix: "choose one of: \(inventory.parents.map(\.name).joined(separator: ", "))")
        }
        guard parent.type(type) != nil else {
            let offering = inventory.parents.filter { $0.type(type) != nil }.map(\.name)
            throw VGPUError(.invalidInput, "parent \(name) does not offer type \(type)",
                            fix: "\(type) needs a different parent: \(offering.joined(separator: ", "))")
        }
        return parent
    }

    private func resolveGroup(_ name: String?) throws -> GPUGroup? {
        guard let name else { return nil }
        guard let group = config.groups.first(where: { $0.name == name }) else {
            throw VGPUError(.notFound, "unknown GPU group '\(Validation.printable(name))'",
                            fix: "choose one of: \(config.groups.map(\.name).joined(separator: ", ")) (groups come from the host config file)")
        }
        return group
    }

    private func shortage(_ request: PlacementRequest, placed: Int, group: GPUGroup?, state: SimulatedHost) -> VGPUError {
        let scope = request.parent.map { "parent \($0)" } ?? group.map { "group \($0.name)" } ?? "this host"
        let reasons = state.parents
            .filter { request.parent == nil || $0.name == request.parent }
            .filter { $0.type(request.type) != nil }
            .compactMap { parent in refusal(parent, type: request.type, state: state).map { "\(parent.name) \($0)" } }
        let detail = reasons.isEmpty ? "" : " (" + reasons.prefix(4).joined(separator: "; ") + (reasons.count > 4 ? "; …" : "") + ")"
        return VGPUError(.noCapacity,
                         "no room for \(request.count == 1 ? "a" : "\(request.count - placed) more") \(request.type) vGPU on \(scope)\(detail)",
                         fix: "remove unused vGPUs ('vgpuctl list'), choose another type, or widen the group")
    }
}

/// The inventory as placement proceeds: counts planned vGPUs as if they existed already. Counts are kept per
/// GPU and per parent, so each choice costs one pass over the parents (`plan --count 256` on 256 VFs).
struct SimulatedHost {
    private(set) var parents: [Parent]
    private var perGPU: [String: [String: Int]] = [:]
    private var perParent: [String: [String: Int]] = [:]

    init(inventory: Inventory) {
        parents = inventory.parents
        let gpuOf = Dictionary(inventory.parents.map { ($0.name, $0.gpu) }, uniquingKeysWith: { first, _ in first })
        for vgpu in inventory.vgpus { count(parent: vgpu.parent, gpu: gpuOf[vgpu.parent] ?? vgpu.parent, type: vgpu.type) }
    }

    private mutating func count(parent: String, gpu: String, type: String) {
        perGPU[gpu, default: [:]][type, default: 0] += 1
        perParent[parent, default: [:]][type, default: 0] += 1
    }

    mutating func record(_ placement: Placement) {
        count(parent: placement.parent, gpu: placement.gpu, type: placement.type)
        guard let index = parents.firstIndex(where: { $0.name == placement.parent }) else { return }
        let isNVIDIA = parents[index].vendor == nvidiaVendorID
        for typeIndex in parents[index].types.indices {
            if parents[index].types[typeIndex].id == placement.type {
                parents[index].types[typeIndex].availableInstances -= 1
            } else if isNVIDIA || parents[index].layout == .nvidiaVFIO {
                // A parent running one NVIDIA type offers no other (the driver's own rule, mirrored ahead of it).
                parents[index].types[typeIndex].availableInstances = 0
            }
        }
    }

    func count(of type: String, onGPU gpu: String) -> Int { perGPU[gpu]?[type] ?? 0 }
    func count(of type: String, onParent parent: String) -> Int { perParent[parent]?[type] ?? 0 }
    func load(onGPU gpu: String) -> Int { perGPU[gpu]?.values.reduce(0, +) ?? 0 }
    func load(onParent parent: String) -> Int { perParent[parent]?.values.reduce(0, +) ?? 0 }
    func types(onGPU gpu: String) -> [String] { (perGPU[gpu] ?? [:]).filter { $0.value > 0 }.keys.sorted() }
}
