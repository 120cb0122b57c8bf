#if canImport(Glibc)
import Glibc
#endif
import VGPUCore
import VGPUHost

/// `vgpuctl apply`: make the host match a declared layout (ApplyPlanner), one journaled plan run GPU by GPU in
/// parallel lanes. A dry run takes no lock and changes nothing.
public struct LayoutApplication: Sendable {
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
    /// `gpuWait`: seconds to wait for the GPUs the layout names to appear (`waiting` hears what it waits for).
    public func run(layout name: String?, dryRun: Bool, wait: Double, gpuWait: Double = 0, command: String,
                    progress: (@Sendable (String) -> Void)? = nil, waiting: ((String) -> Void)? = nil) throws -> Outcome {
        let config = try host.placementConfig()
        let layout = try Self.layout(named: name, in: config, file: host.configFile)
        return try run(layout, config: config, dryRun: dryRun, wait: wait, gpuWait: gpuWait, command: command,
                       progress: progress, waiting: waiting)
    }

    /// The same for a layout and config already read.
    public func run(_ layout: DeclaredLayout, config: PlacementConfig, dryRun: Bool, wait: Double, gpuWait: Double = 0,
                    command: String, progress: (@Sendable (String) -> Void)? = nil,
                    waiting: ((String) -> Void)? = nil) throws -> Outcome {
        try waitForGPUs(layout, seconds: gpuWait, say: waiting)
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

    /// Waits up to `seconds` (a deadline) for every GPU the layout names one by one to exist as a vGPU parent
    /// (a driver still loading, VFs still being enabled), saying what it waits for; looks with `GPUPresence`, a
    /// few lookups per GPU, so a host that already has them pays almost nothing. 0: no wait (the planner then
    /// refuses a missing GPU).
    public func waitForGPUs(_ layout: DeclaredLayout, seconds: Double, poll: Double = 0.2, say: ((String) -> Void)? = nil) throws {
        let presence = GPUPresence(paths: host.paths, os: host.os)
        var missing = presence.missing(layout.namedGPUs)
        guard !missing.isEmpty, seconds > 0 else { return }
        let start = monotonicNow()
        say?("waiting up to \(Self.seconds(seconds)) s for GPU(s) \(missing.joined(separator: ", ")) to appear as vGPU parents")
        while true {
            usleep(UInt32(poll * 1_000_000))
            missing = presence.missing(missing)
            if missing.isEmpty {
                say?("the GPU(s) appeared after \(Self.seconds(monotonicNow() - start)) s")
                return
            }
            if monotonicNow() - start >= seconds { break }
        }
        throw VGPUError(.notFound, "after \(Self.seconds(seconds)) s, GPU(s) \(missing.joined(separator: ", ")) of layout '\(layout.name)' are still not vGPU parents (no \(host.paths.mdevBus)/ID, and no SR-IOV VF of it hosting vGPU types)",
                        fix: "load the GPU's vGPU driver or enable its VFs (sriov_numvfs), check the id with 'vgpuctl types', or wait longer (--gpu-wait SECONDS)")
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(Double(Int(value * 10)) / 10)
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
