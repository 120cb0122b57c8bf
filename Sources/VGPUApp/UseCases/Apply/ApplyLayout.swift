import VGPUCore
import VGPUHost

/// `vgpuctl apply`: make the host match a declared layout (ApplyPlanner), one journaled plan run GPU by GPU in
/// parallel lanes. `PreviewLayout` is the dry run: no lock, no change. `ApplyDeclaredLayout` finds the layout and
/// waits for its GPUs first.
public struct ApplyLayout: ChangeUseCase, Sendable {
    public var layout: DeclaredLayout
    /// The config the layout is placed under (groups, reserved GPUs, rules).
    public var config: PlacementConfig
    /// Gets one line per GPU as its lane completes.
    public var progress: (@Sendable (String) -> Void)?

    public init(_ layout: DeclaredLayout, config: PlacementConfig, progress: (@Sendable (String) -> Void)? = nil) {
        self.layout = layout
        self.config = config
        self.progress = progress
    }

    public struct Outcome: Sendable {
        public var result: ApplyPlanner.Result
        public var dryRun: Bool
        /// What recovery did as the session started (not for a dry run).
        public var recovered: [String]
        /// PFs whose VFs were (for a dry run: would be) enabled first; a dry run that would enable any plans nothing
        /// else, since the VFs' vGPUs can be planned only once they exist.
        public var vfsEnabled: [VFEnabling]
        /// Whether anything was (or, for a dry run, would be) changed.
        public var acts: Bool { result.acts || !vfsEnabled.isEmpty }

        public init(result: ApplyPlanner.Result, dryRun: Bool, recovered: [String], vfsEnabled: [VFEnabling] = []) {
            self.result = result
            self.dryRun = dryRun
            self.recovered = recovered
            self.vfsEnabled = vfsEnabled
        }
    }

    /// At most this many GPUs are worked on at once: every GPU of an 8-GPU host (HGX), the largest common one. A
    /// lane spends its time waiting in the vendor driver's create, not on a core.
    public static let maxLanes = 8

    public func run(in session: Session) throws -> Outcome {
        let result = try Self.plan(layout, config: config, environment: session.environment) {
            try session.annotated($0, domains: false)
        }
        if result.acts { try session.execute(result, progress: progress) }
        return Outcome(result: result, dryRun: false, recovered: session.recovered)
    }

    /// Plans on the part of the host the layout names (its GPUs' parents, its types: `DeclaredLayout.inventoryScope`),
    /// which gives the plan the whole host gives; a refusal is planned again on the whole host, whose message then
    /// names every GPU and type there is. Domains (libvirt) and holders (/proc) are asked only when the plan
    /// removes a vGPU, and the plan made again with them: a no-op or create-only apply never loads libvirt.
    static func plan(_ layout: DeclaredLayout, config: PlacementConfig, environment: Environment,
                     annotated: (Inventory) throws -> Inventory) throws -> ApplyPlanner.Result {
        // Every definition, read once (a vGPU's may sit under another parent's directory; warnings said once).
        var definitions: [Definition]?
        func inventory(_ scope: InventoryScope) throws -> Inventory {
            var inventory = try SysfsReader(paths: environment.paths, os: environment.os).inventory(scope: scope)
            if definitions == nil { definitions = environment.definitions() }
            inventory.definitions = definitions ?? []
            return inventory
        }
        let scope = layout.inventoryScope
        if scope != .whole {
            do {
                return try plan(layout, config: config, environment: environment, inventory: inventory(scope), annotated: annotated)
            } catch is Refusal {}
        }
        do {
            return try plan(layout, config: config, environment: environment, inventory: inventory(.whole), annotated: annotated)
        } catch let refusal as Refusal {
            throw refusal.error
        }
    }

    /// The planner's refusal, told apart from a failure to read the host (which a second read would only repeat).
    private struct Refusal: Error { let error: Error }

    private static func plan(_ layout: DeclaredLayout, config: PlacementConfig, environment: Environment, inventory: Inventory,
                             annotated: (Inventory) throws -> Inventory) throws -> ApplyPlanner.Result {
        func planned(_ inventory: Inventory, held: HeldDevices = [:], pciIDs: [String: [String]]) throws -> ApplyPlanner.Result {
            do {
                return try ApplyPlanner.plan(layout, inventory: inventory, config: config, held: held, pciIDs: pciIDs, newUUID: LibUUID.random)
            } catch { throw Refusal(error: error) }
        }
        let pciIDs = layout.entries.contains { !$0.deviceFilter.isEmpty }
            ? SysfsReader(paths: environment.paths, os: environment.os).pciIDs(ofGPUs: Array(Set(inventory.parents.map(\.gpu))).sorted()) : [:]
        let first = try planned(inventory, pciIDs: pciIDs)
        guard first.removes else { return first }
        let full = try annotated(inventory)
        let held = DeviceHolders(paths: environment.paths, os: environment.os).held(in: full)
        return try planned(full, held: held, pciIDs: pciIDs)
    }

    /// The layout `name` names, else the config's selected one.
    public static func layout(named name: String?, in config: PlacementConfig, file: String) throws -> DeclaredLayout {
        let known = config.layouts.keys.sorted()
        guard let chosen = name ?? config.selectedLayout else {
            throw VGPUError(.invalidInput, "no layout given, and \(file) selects none",
                            fix: known.isEmpty ? "declare one in \(file) ([[layouts.NAME.entries]]) and run 'vgpuctl apply NAME'"
                                               : "run 'vgpuctl apply NAME' (one of: \(known.joined(separator: ", "))), or set layout = \"NAME\" in \(file)")
        }
        guard let layout = config.layouts[chosen] else {
            throw VGPUError(.notFound, "no layout named '\(Validation.printable(chosen))' in \(file)",
                            fix: known.isEmpty ? "declare it there as [[layouts.\(chosen).entries]]" : "choose one of: \(known.joined(separator: ", "))")
        }
        return layout
    }
}

extension Session {
    /// Runs an apply plan: one journal record, GPUs in parallel lanes (see Executor.execute(_:lanes:…)).
    func execute(_ result: ApplyPlanner.Result, progress: (@Sendable (String) -> Void)?) throws {
        let lanes = result.lanes
        let changes = result.gpus.filter(\.acts)
        let finished = Counter()
        try Executor(runner: runner, journal: journal, command: command)
            .execute(result.plan, lanes: lanes.map(\.steps), parallelism: ApplyLayout.maxLanes) { lane in
                guard let progress else { return }
                let change = changes[lane]
                let n = finished.increment()
                progress("GPU \(change.gpu): \(change.created.count) created, \(change.removed.count) removed, \(change.kept.count) kept (\(n)/\(lanes.count))")
            }
    }
}

private final class Counter: @unchecked Sendable {
    private let mutex = Mutex()
    private var value = 0
    func increment() -> Int { mutex.withLock { value += 1; return value } }
}

/// `vgpuctl apply --dry-run`: what `ApplyLayout` would do; no lock, no change.
public struct PreviewLayout: ReadUseCase {
    public var layout: DeclaredLayout
    public var config: PlacementConfig

    public init(_ layout: DeclaredLayout, config: PlacementConfig) {
        self.layout = layout
        self.config = config
    }

    public func read(in environment: Environment) throws -> ApplyLayout.Outcome {
        let result = try ApplyLayout.plan(layout, config: config, environment: environment) {
            guard let connection = try? environment.connect() else { return $0 }
            return (try? connection.annotate($0)) ?? $0
        }
        return ApplyLayout.Outcome(result: result, dryRun: true, recovered: [])
    }
}
