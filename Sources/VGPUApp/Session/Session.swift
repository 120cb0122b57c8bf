import VGPUCore
import VGPUHost

/// One state-changing operation's hold on the host: the host lock is taken first, interrupted operations are
/// recovered next, and only then is the inventory read, planned on and changed, through the journaled
/// executor. `Application.run` opens one for each change use case; reads never make one, so they never wait.
/// Front ends never see inside it.
public final class Session {
    let environment: Environment
    let libvirtSettings: LibvirtSettings
    /// Who holds the lock, for the message another waiter sees (e.g. "vgpuctl create --type mtty-2").
    let command: String
    private let lock: HostLock
    /// Seconds spent waiting for the host lock (the hook logs it: its share of libvirtd's wait under load).
    let lockWait: Double
    /// What recovery did as the session started, one line per operation.
    private(set) var recovered: [String] = []
    /// The libvirt connection, opened on first use, seen through the session's read cache.
    private var connection: SessionReads?
    private var loadedTemplates: HostdevXML?
    private(set) lazy var runner = LiveStepRunner(
        sysfs: SysfsWriter(paths: environment.paths, os: environment.os, writeBound: writeBound), definitions: environment.definitionStore,
        detachTimeout: libvirtSettings.detachTimeout, templates: { [unowned self] in try self.templates() },
        hypervisor: { [unowned self] in try self.libvirt() })

    /// `recover` false: leave interrupted operations to the next command (the libvirt hook, which must not
    /// reach libvirt, cannot finish a libvirt step).
    /// Bound on sysfs writes that can block without end (the hook's: it must never block libvirtd); nil: none.
    let writeBound: Double?

    /// `writeBound`: see SysfsWriter.writeBound.
    init(environment: Environment, wait: Double, libvirt: LibvirtSettings = LibvirtSettings(), command: String, recover: Bool = true,
         writeBound: Double? = nil) throws {
        self.writeBound = writeBound
        self.environment = environment
        self.libvirtSettings = libvirt
        self.command = command
        let asked = monotonicNow()
        lock = try HostLock.acquire(paths: environment.paths, os: environment.os, wait: wait, holder: command)
        lockWait = monotonicNow() - asked
        if recover { recovered = try Recovery(journal: journal, runner: runner).run() }
        for line in recovered { Console.error("vgpuctl: recovered: \(line)\n") }
    }

    var journal: Journal { Journal(paths: environment.paths, os: environment.os) }

    /// libvirt, connected on first use. Reads are cached until the session changes something (see SessionReads).
    func libvirt() throws -> Hypervisor {
        if let connection { return connection }
        guard libvirtSettings.reachable else {
            throw VGPUError(.internalError, "\(command) must not call libvirt (libvirtd holds the domain's job while a hook runs)",
                            fix: "report this: a hook plan asked for a libvirt step")
        }
        let opened = SessionReads(try environment.connect())
        connection = opened
        return opened
    }

    /// The XML templates, read once per session: an operation on many vGPUs rewrites a domain's metadata once
    /// per vGPU.
    func templates() throws -> HostdevXML {
        if let loadedTemplates { return loadedTemplates }
        let loaded = try environment.templates()
        loadedTemplates = loaded
        return loaded
    }

    /// The inventory with each vGPU's domain. `required` false: a host where libvirt is not running (or not even
    /// installed: its library is loaded on first use) has no domain to hold a vGPU, so go on without.
    func inventory(domains required: Bool) throws -> Inventory {
        try annotated(environment.inventory(), domains: required)
    }

    /// `inventory` with each vGPU's domain; `required` as for `inventory(domains:)`.
    func annotated(_ inventory: Inventory, domains required: Bool) throws -> Inventory {
        do {
            return try libvirt().annotate(inventory)
        } catch let error as VGPUError where !required && (error.message.hasPrefix("could not connect") || error.message.hasPrefix(LibvirtAPI.notLoadedPrefix)) {
            return inventory
        }
    }

    /// Refuses a vGPU a process holds open (checked on /proc, so it works with libvirtd down).
    func refuseIfHeld(_ uuid: DeviceUUID, in inventory: Inventory) throws {
        guard let vgpu = inventory.vgpu(uuid) else { return }
        try DeviceHolders(paths: environment.paths, os: environment.os).refuseIfHeld(vgpu)
    }

    /// Refuses a plan that would remove (or release) a vGPU a process holds, naming the holder: one scan of /proc.
    func refuseHeldRemovals(_ plan: Plan, in inventory: Inventory) throws {
        let removed = plan.steps.compactMap { step -> DeviceUUID? in
            switch step {
            case let .removeMdev(uuid, _, _), let .releaseVF(_, _, uuid): return uuid
            default: return nil
            }
        }
        guard !removed.isEmpty else { return }
        let held = DeviceHolders(paths: environment.paths, os: environment.os).held(in: inventory)
        for uuid in removed { if let holders = held[uuid], !holders.isEmpty { throw DeviceHolder.busy(uuid, holders, doing: "removed; nothing was changed") } }
    }

    func execute(_ plan: Plan) throws {
        try Executor(runner: runner, journal: journal, command: command).execute(plan)
    }
}
