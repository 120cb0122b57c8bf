import VGPUCore
import VGPUHost

/// `vgpuctl apply`: make the host match a declared layout (ApplyPlanner), one journaled plan run GPU by GPU in
/// parallel lanes. A dry run takes no lock and changes nothing.
public struct LayoutApplication {
    public let host: HostContext
    public let libvirt: LibvirtSettings

    public init(host: HostContext, libvirt: LibvirtSettings = LibvirtSettings()) {
        self.host = host
        self.libvirt = libvirt
    }

    public struct Outcome: Sendable {
        public var result: ApplyPlanner.Result
        public var dryRun: Bool
        /// What recovery did as the session started (not for a dry run).
        public var recovered: [String]
        /// Whether anything was (or, for a dry run, would be) changed.
        public var acts: Bool { result.acts }
    }

    /// At most this many GPUs are worked on at once.
    public static let maxLanes = 4

    /// `name` nil: the config's `layout = "NAME"`. `progress` gets one line per GPU as its lane completes.
    public func run(layout name: String?, dryRun: Bool, wait: Double, command: String,
                    progress: (@Sendable (String) -> Void)? = nil) throws -> Outcome {
        let config = try host.placementConfig()
        let layout = try Self.layout(named: name, in: config, file: host.configFile)
        return try run(layout, config: config, dryRun: dryRun, wait: wait, command: command, progress: progress)
    }

    /// The same for a layout and config already read.
    public func run(_ layout: DeclaredLayout, config: PlacementConfig, dryRun: Bool, wait: Double, command: String,
                    progress: (@Sendable (String) -> Void)? = nil) throws -> Outcome {
        if dryRun {
            let result = try plan(layout, config: config, inventory: host.inventory()) {
                guard let connection = try? LibvirtConnection(uri: libvirt.uri) else { return $0 }
                return (try? connection.annotate($0)) ?? $0
            }
            return Outcome(result: result, dryRun: true, recovered: [])
        }
        let session = try HostSession(host: host, wait: wait, libvirt: libvirt, command: command)
        let result = try plan(layout, config: config, inventory: host.inventory()) { _ in try session.inventory(domains: false) }
        if result.acts { try session.execute(result, progress: progress) }
        return Outcome(result: result, dryRun: false, recovered: session.recovered)
    }

    /// Plans on the sysfs inventory first; only when that plan removes a vGPU are domains (libvirt) and holders
    /// (/proc) asked, and the plan made again with them: a no-op or create-only apply never loads libvirt.
    private func plan(_ layout: DeclaredLayout, config: PlacementConfig, inventory: Inventory,
                      annotated: (Inventory) throws -> Inventory) throws -> ApplyPlanner.Result {
        let pciIDs = layout.entries.contains { !$0.deviceFilter.isEmpty }
            ? SysfsReader(paths: host.paths, os: host.os).pciIDs(ofGPUs: Array(Set(inventory.parents.map(\.gpu))).sorted()) : [:]
        let first = try ApplyPlanner.plan(layout, inventory: inventory, config: config, pciIDs: pciIDs, newUUID: LibUUID.random)
        guard first.removes else { return first }
        let full = try annotated(inventory)
        let held = DeviceHolders(paths: host.paths, os: host.os).held(in: full)
        return try ApplyPlanner.plan(layout, inventory: full, config: config, held: held, pciIDs: pciIDs, newUUID: LibUUID.random)
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

extension HostSession {
    /// Runs an apply plan: one journal record, GPUs in parallel lanes (see Executor.execute(_:lanes:…)).
    func execute(_ result: ApplyPlanner.Result, progress: (@Sendable (String) -> Void)?) throws {
        let lanes = result.lanes
        let changes = result.gpus.filter(\.acts)
        let finished = Counter()
        try Executor(runner: runner, journal: journal, command: command)
            .execute(result.plan, lanes: lanes.map(\.steps), parallelism: LayoutApplication.maxLanes) { lane in
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
