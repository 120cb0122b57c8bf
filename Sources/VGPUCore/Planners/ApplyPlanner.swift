/// `vgpuctl apply`: a declared layout against the host, as one plan, or a refusal before anything changes. Pure.
///
/// Per GPU the layout names, the layout is the whole truth about that GPU: vGPUs of a wanted type are kept (same
/// type, same GPU: no churn, whichever parent they are on), what is missing is created and defined `auto` (so a
/// reboot brings the layout back), and what is surplus is removed with its definition. A surplus vGPU that a
/// domain uses or names in its definition, or that a process holds, is never taken: the layout is refused, naming
/// each. GPUs the layout does not name are left alone. Steps are grouped by GPU ("lanes"): each lane's steps run in
/// order (removals before creates, so a homogeneous GPU can change type), different lanes touch different GPUs.
public enum ApplyPlanner {
    /// What happens on one GPU.
    public struct GPUChange: Equatable, Sendable {
        public var gpu: String
        public var kept: [VGPU]
        public var removed: [VGPU]
        /// New vGPUs: (uuid, parent, type).
        public var created: [Definition]
        /// Kept vGPUs that had no definition and get an `auto` one.
        public var defined: [Definition]
        /// This GPU's steps, in order.
        public var steps: [Step]

        public var acts: Bool { !steps.isEmpty }
    }

    public struct Result: Equatable, Sendable {
        public var layout: String
        /// Every GPU the layout names, sorted; those with nothing to do have no steps.
        public var gpus: [GPUChange]

        public init(layout: String, gpus: [GPUChange]) {
            self.layout = layout
            self.gpus = gpus
        }

        /// One plan: the lanes' steps one GPU after another. The journal records it whole; a crash is rolled back
        /// step by step in reverse, which undoes each GPU's steps in reverse whatever order the lanes ran in.
        public var plan: Plan { Plan(operation: "apply \(layout)", steps: gpus.flatMap(\.steps), recovery: .rollBack) }
        /// Each acting GPU's range in `plan.steps`, with its name.
        public var lanes: [(gpu: String, steps: Range<Int>)] {
            var start = 0
            return gpus.filter(\.acts).map { change in
                defer { start += change.steps.count }
                return (change.gpu, start..<(start + change.steps.count))
            }
        }
        public var acts: Bool { gpus.contains(where: \.acts) }
        /// Whether the plan removes any vGPU (only then do domains and holders matter).
        public var removes: Bool { gpus.contains { !$0.removed.isEmpty } }
    }

    /// - Parameters:
    ///   - held: which vGPUs a process holds (`/proc`); may be empty when the caller knows nothing is removed.
    ///   - pciIDs: GPU → the PCI IDs a `deviceFilter` matches (`0xDDDDVVVV`, device and subsystem); needed only
    ///     for layouts with a device filter.
    ///   - newUUID: where new vGPUs' UUIDs come from (libuuid in the front end; a counter in tests).
    public static func plan(_ layout: DeclaredLayout, inventory: Inventory, config: PlacementConfig, held: HeldDevices = [:],
                            pciIDs: [String: [String]] = [:], newUUID: () -> DeviceUUID) throws -> Result {
        var problems = Problems()
        let wanted = try desired(layout, inventory: inventory, config: config, pciIDs: pciIDs, problems: &problems)
        var changes: [GPUChange] = []
        for (gpu, counts) in wanted.sorted(by: { $0.key < $1.key }) {
            if let change = plan(gpu: gpu, wants: counts, inventory: inventory, config: config, held: held, newUUID: newUUID, problems: &problems) {
                changes.append(change)
            }
        }
        try problems.throwIfAny(layout: layout.name)
        return Result(layout: layout.name, gpus: changes)
    }

    // MARK: what the layout asks of each GPU

    /// GPU → type id → count, types resolved against what each GPU offers.
    static func desired(_ layout: DeclaredLayout, inventory: Inventory, config: PlacementConfig, pciIDs: [String: [String]],
                        problems: inout Problems) throws -> [String: [String: Int]] {
        guard !layout.entries.isEmpty else {
            throw VGPUError(.invalidInput, "layout '\(layout.name)' has no entries", fix: "give it at least one entry naming GPUs and vGPU types")
        }
        let allGPUs = Array(Set(inventory.parents.map(\.gpu))).sorted()
        var wanted: [String: [String: Int]] = [:]
        var namedBy: [String: String] = [:]
        for entry in layout.entries {
            let where_ = entry.origin.isEmpty ? "" : " (\(entry.origin))"
            let filtered = entry.deviceFilter.isEmpty ? allGPUs : allGPUs.filter { gpu in
                let ids = pciIDs[gpu] ?? []
                return entry.deviceFilter.contains { filter in ids.contains { $0.lowercased() == filter.lowercased() } }
            }
            var gpus: [String] = []
            switch entry.gpus {
            case .all:
                gpus = filtered
            case .gpus(let ids):
                for id in ids {
                    if !allGPUs.contains(id) {
                        problems.add(.notFound, "no GPU '\(Validation.printable(id))' on this host\(where_)",
                                     fix: "name one of: \(allGPUs.joined(separator: ", ")) (see 'vgpuctl types')")
                    } else if filtered.contains(id) { gpus.append(id) }
                }
            case .group(let name):
                guard let group = config.groups.first(where: { $0.name == name }) else {
                    problems.add(.notFound, "unknown GPU group '\(Validation.printable(name))'\(where_)",
                                 fix: "choose one of: \(config.groups.map(\.name).joined(separator: ", ")) (groups come from the host config file)")
                    continue
                }
                gpus = filtered.filter { config.group(of: $0)?.name == group.name }
            case .indices(let indices):
                // As vgpu-device-manager counts them: every GPU in PCI address order; the device filter is a further
                // condition on the GPU an index names, not a renumbering.
                for index in indices {
                    if index >= 0, index < allGPUs.count {
                        if filtered.contains(allGPUs[index]) { gpus.append(allGPUs[index]) }
                    } else {
                        problems.add(.invalidInput, "GPU index \(index) is out of range: this host has \(allGPUs.count) GPU(s)\(where_)",
                                     fix: "indices count from 0 in PCI address order")
                    }
                }
            }
            for gpu in gpus {
                if let first = namedBy[gpu] {
                    problems.add(.invalidInput, "GPU \(gpu) is named by two entries of layout '\(layout.name)' (\(first) and \(entry.origin))",
                                 fix: "name each GPU in one entry only")
                    continue
                }
                namedBy[gpu] = entry.origin
                var counts: [String: Int] = [:]
                for request in entry.vgpus {
                    guard request.count >= 0 else {
                        problems.add(.invalidInput, "count \(request.count) of \(request.type) is negative\(where_)", fix: "give 0 or more")
                        continue
                    }
                    guard let type = resolve(request.type, on: gpu, inventory: inventory, problems: &problems) else { continue }
                    counts[type, default: 0] += request.count
                }
                wanted[gpu] = counts.filter { $0.value > 0 }
            }
        }
        return wanted
    }

    /// A type id or name to the id the GPU offers; nil (and a problem) when unknown, ambiguous or not offered.
    static func resolve(_ text: String, on gpu: String, inventory: Inventory, problems: inout Problems) -> String? {
        let parents = inventory.parents.filter { $0.gpu == gpu }
        let names = Set(parents.map(\.name))
        // A full GPU of NVIDIA's vendor-specific VFIO lists nothing creatable on any VF, yet it offers the types its
        // vGPUs run: those, named as any GPU lists them (an id names one type on every GPU).
        let hosted = Set(inventory.vgpus.filter { names.contains($0.parent) }.map(\.type))
        let offered = parents.flatMap(\.types) + inventory.parents.flatMap(\.types).filter { hosted.contains($0.id) }
        if hosted.contains(text) || offered.contains(where: { $0.id == text }) { return text }
        // Such a GPU running vGPUs lists only their type, so another of NVIDIA's types can be planned only by id: the
        // GPU is emptied for it (see HostAfter), and the driver accepts the type or refuses it, which rolls the apply
        // back. An idle GPU lists all it offers, so there the listing decides.
        if !hosted.isEmpty, parents.contains(where: { $0.layout == .nvidiaVFIO }), text.hasPrefix("nvidia-"),
           let number = Int(text.dropFirst("nvidia-".count)), number > 0 { return text }
        let byName = Set(offered.filter { matches(name: $0.name, text) }.map(\.id)).sorted()
        if byName.count == 1 { return byName[0] }
        if byName.count > 1 {
            problems.add(.invalidInput, "GPU \(gpu): the type name '\(Validation.printable(text))' is ambiguous (\(byName.joined(separator: ", ")))",
                         fix: "name the type by its id")
            return nil
        }
        let elsewhere = inventory.parents.contains { $0.types.contains { $0.id == text || matches(name: $0.name, text) } }
        if elsewhere {
            problems.add(.invalidInput, "GPU \(gpu) does not offer type '\(Validation.printable(text))'",
                         fix: "it offers: \(Set(offered.map(\.id)).sorted().joined(separator: ", ")) (see 'vgpuctl types')")
        } else {
            problems.add(.notFound, "unknown vGPU type '\(Validation.printable(text))' (for GPU \(gpu))",
                         fix: "choose a type id or name 'vgpuctl types' shows")
        }
        return nil
    }

    /// A type's name as `types` shows it, also without the vendor's prefix ("A100-4C" for "NVIDIA A100-4C" or
    /// "GRID A100-4C", as vgpu-device-manager writes them).
    static func matches(name: String?, _ text: String) -> Bool {
        guard let name else { return false }
        if name == text { return true }
        for prefix in ["NVIDIA ", "GRID "] where name.hasPrefix(prefix) && String(name.dropFirst(prefix.count)) == text { return true }
        return false
    }

    // MARK: one GPU

    static func plan(gpu: String, wants: [String: Int], inventory: Inventory, config: PlacementConfig, held: HeldDevices,
                     newUUID: () -> DeviceUUID, problems: inout Problems) -> GPUChange? {
        let parents = inventory.parents.filter { $0.gpu == gpu }.sorted { $0.name < $1.name }
        let names = Set(parents.map(\.name))
        let existing = inventory.vgpus.filter { names.contains($0.parent) }
        let rules = config.rules[gpu] ?? GPURules()
        let nvidia = parents.contains { $0.vendor == nvidiaVendorID || $0.layout == .nvidiaVFIO }
        let homogeneous = !(rules.heterogeneous ?? !nvidia)
        var refused = false
        if homogeneous, wants.count > 1 {
            problems.add(.invalidInput, "GPU \(gpu) runs one vGPU type at a time, and the layout asks for \(wants.keys.sorted().joined(separator: ", "))",
                         fix: "give this GPU one type (or set heterogeneous = true for it in the config, if its driver allows)")
            refused = true
        }
        if let enabled = rules.enabledTypes {
            for type in wants.keys.sorted() where !enabled.contains(type) {
                problems.add(.invalidInput, "GPU \(gpu) is reserved for \(enabled.sorted().joined(separator: ", ")); the layout asks for \(type)",
                             fix: "change the layout or the GPU's types in the config")
                refused = true
            }
        }
        if refused { return nil }

        // Keep what matches; the rest is surplus. Blocked vGPUs are kept first, then defined ones, then by parent/UUID.
        func blockers(_ vgpu: VGPU) -> [String] {
            vgpu.domains.map { "domain \($0) uses it" } + (held[vgpu.uuid] ?? []).map(\.description)
        }
        var kept: [VGPU] = [], removed: [VGPU] = []
        for type in Set(existing.map(\.type)).sorted() {
            let ofType = existing.filter { $0.type == type }.sorted { lhs, rhs in
                let l = (blockers(lhs).isEmpty ? 1 : 0, inventory.definition(lhs.uuid) == nil ? 1 : 0, lhs.parent, lhs.uuid.text)
                let r = (blockers(rhs).isEmpty ? 1 : 0, inventory.definition(rhs.uuid) == nil ? 1 : 0, rhs.parent, rhs.uuid.text)
                return l < r
            }
            let keep = min(wants[type] ?? 0, ofType.count)
            kept += ofType.prefix(keep)
            removed += ofType.dropFirst(keep)
        }
        for vgpu in removed.sorted(by: { $0.uuid.text < $1.uuid.text }) {
            let why = blockers(vgpu)
            guard !why.isEmpty else { continue }
            problems.add(.busy, "GPU \(gpu): the layout would remove vGPU \(vgpu.uuid) (\(vgpu.type) on \(vgpu.parent)), but \(why.joined(separator: "; "))",
                         fix: "shut the domain down and detach the vGPU ('vgpuctl detach \(vgpu.uuid)'), or change the layout to keep it")
            refused = true
        }
        if refused { return nil }

        // Capacity after the removals, then the creates, parent by parent.
        var host = HostAfter(parents: parents, kept: kept, removed: removed, nvidia: nvidia)
        var created: [Definition] = []
        for type in wants.keys.sorted() {
            var missing = wants[type]! - kept.filter { $0.type == type }.count
            for parent in parents where missing > 0 {
                while missing > 0, host.canTake(type, on: parent) {
                    host.take(type, on: parent.name)
                    created.append(Definition(uuid: newUUID(), parent: parent.name, type: type, start: .auto, layout: parent.layout))
                    missing -= 1
                }
            }
            if missing > 0 {
                let have = kept.filter { $0.type == type }.count + created.filter { $0.type == type }.count
                problems.add(.noCapacity, "GPU \(gpu) can hold \(have) × \(type), and the layout asks for \(wants[type]!)",
                             fix: "ask for fewer, or a smaller type")
                refused = true
            }
        }
        if refused { return nil }

        var steps: [Step] = []
        for vgpu in removed.sorted(by: { ($0.parent, $0.uuid.text) < ($1.parent, $1.uuid.text) }) {
            steps.append(LifecyclePlanner.removeStep(vgpu))
            for definition in inventory.definitions where definition.uuid == vgpu.uuid { steps.append(.deleteDefinition(definition)) }
        }
        for definition in created {
            steps.append(definition.layout == .mdev ? .createMdev(uuid: definition.uuid, parent: definition.parent, type: definition.type)
                                                    : .assignVF(vf: definition.parent, type: definition.type, uuid: definition.uuid))
            steps.append(.writeDefinition(definition))
        }
        // A kept vGPU nothing defines would not come back after a reboot: the layout defines it (auto).
        let defined = kept.filter { inventory.definition($0.uuid) == nil }.sorted { $0.uuid.text < $1.uuid.text }
            .map { Definition(uuid: $0.uuid, parent: $0.parent, type: $0.type, start: .auto, layout: $0.layout) }
        steps += defined.map(Step.writeDefinition)
        return GPUChange(gpu: gpu, kept: kept.sorted { ($0.parent, $0.uuid.text) < ($1.parent, $1.uuid.text) },
                         removed: removed.sorted { ($0.parent, $0.uuid.text) < ($1.parent, $1.uuid.text) },
                         created: created, defined: defined, steps: steps)
    }

    /// One GPU's parents as they will be once the surplus is gone, as creates are added.
    struct HostAfter {
        /// parent → type → vGPUs it will host.
        var hosted: [String: [String: Int]] = [:]
        /// parent → type → free instances (sysfs's count, plus what the removals give back, minus what is taken).
        var free: [String: [String: Int]] = [:]
        /// Parents that host nothing once the surplus is gone, but hosted something before.
        var emptied: Set<String> = []
        let nvidia: Bool
        let gpuTypes: Set<String>
        /// A vendor-specific VFIO GPU whose every vGPU goes: each of its VFs may take one vGPU of any type.
        let vfGPUEmptied: Bool

        init(parents: [Parent], kept: [VGPU], removed: [VGPU], nvidia: Bool) {
            self.nvidia = nvidia
            gpuTypes = Set(parents.flatMap { $0.types.map(\.id) })
            vfGPUEmptied = kept.isEmpty && !removed.isEmpty && parents.allSatisfy { $0.layout == .nvidiaVFIO }
            for parent in parents {
                free[parent.name] = Dictionary(parent.types.map { ($0.id, $0.availableInstances) }, uniquingKeysWith: max)
            }
            for vgpu in kept { hosted[vgpu.parent, default: [:]][vgpu.type, default: 0] += 1 }
            for vgpu in removed { free[vgpu.parent, default: [:]][vgpu.type, default: 0] += 1 }
            for vgpu in removed where hosted[vgpu.parent] == nil { emptied.insert(vgpu.parent) }
        }

        func canTake(_ type: String, on parent: Parent) -> Bool {
            let here = hosted[parent.name] ?? [:]
            // An NVIDIA parent hosts one type at a time (a VF: one vGPU), whatever the other types' counts say.
            if nvidia, here.contains(where: { $0.key != type && $0.value > 0 }) { return false }
            if (free[parent.name]?[type] ?? 0) > 0 { return true }
            if vfGPUEmptied { return here.values.reduce(0, +) == 0 }
            // A homogeneous GPU that changes type offers the new one only once the old ones are gone, so sysfs
            // showed none: an emptied VF takes one vGPU; an emptied mdev parent as many as the type's
            // `max_instance` says (NVIDIA's description). The kernel has the last word (a refusal rolls back).
            guard nvidia, emptied.contains(parent.name), gpuTypes.contains(type) else { return false }
            let isVF = parent.layout == .nvidiaVFIO || parent.gpu != parent.name
            let limit = isVF ? 1 : (parent.type(type)?.description.flatMap(maxInstances) ?? 0)
            return (here[type] ?? 0) < limit
        }

        mutating func take(_ type: String, on parent: String) {
            hosted[parent, default: [:]][type, default: 0] += 1
            if let count = free[parent]?[type], count > 0 { free[parent]![type] = count - 1 }
        }

        func maxInstances(_ description: String) -> Int? {
            for field in description.split(separator: ",") {
                let trimmed = field.drop { $0 == " " }
                if trimmed.hasPrefix("max_instance=") { return Int(trimmed.dropFirst("max_instance=".count).prefix { $0.isNumber }) }
            }
            return nil
        }
    }

    /// Every refusal, collected so one run names them all.
    struct Problems {
        var items: [(kind: VGPUError.Kind, message: String, fix: String)] = []

        mutating func add(_ kind: VGPUError.Kind, _ message: String, fix: String) { items.append((kind, message, fix)) }

        /// Input mistakes first (exit 2/3), then what domains or processes block (5), then capacity (4).
        func throwIfAny(layout: String) throws {
            guard !items.isEmpty else { return }
            let order: [VGPUError.Kind] = [.invalidInput, .notFound, .busy, .noCapacity]
            let kind = order.first { kind in items.contains { $0.kind == kind } } ?? items[0].kind
            let first = items.first { $0.kind == kind }!
            if items.count == 1 { throw VGPUError(kind, "layout '\(layout)' refused, nothing was changed: \(first.message)", fix: first.fix) }
            let lines = items.map { "\n  - \($0.message)" }.joined()
            throw VGPUError(kind, "layout '\(layout)' refused, nothing was changed:\(lines)", fix: first.fix)
        }
    }
}
