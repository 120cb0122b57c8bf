import ArgumentParser
import FoundationEssentials
import VGPUCore
import VGPUHost

/// `--wait`: every state-changing command takes it.
struct LockOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Seconds to wait for the host lock another vgpuctl holds (0: fail at once, exit 5).", valueName: "seconds"))
    var wait: Double = 60

    func validate() throws {
        guard wait >= 0, wait.isFinite else {
            throw VGPUError(.invalidInput, "--wait \(wait) is not a number of seconds", fix: "give 0 or more")
        }
    }
}

/// One state-changing command's hold on the host: the host lock is taken first, interrupted operations are
/// recovered next, and only then is the inventory read, planned on and changed, through the journaled
/// executor. Read-only commands never make one, so they never wait.
final class HostSession {
    let host: HostOptions
    let libvirtOptions: LibvirtOptions?
    private let lock: HostLock
    /// What recovery did as the session started, one line per operation.
    private(set) var recovered: [String] = []
    private var connection: LibvirtConnection?
    private(set) lazy var runner = HostStepRunner(
        sysfs: SysfsWriter(paths: host.paths, os: host.os), definitions: host.definitionStore,
        detachTimeout: libvirtOptions?.detachTimeout ?? 30, hypervisor: { [unowned self] in try self.libvirt() })

    init(host: HostOptions, lock options: LockOptions, libvirt: LibvirtOptions? = nil) throws {
        self.host = host
        self.libvirtOptions = libvirt
        lock = try HostLock.acquire(paths: host.paths, os: host.os, wait: options.wait, holder: Self.commandLine)
        recovered = try Recovery(journal: journal, runner: runner).run()
        for line in recovered { Console.error("vgpuctl: recovered: \(line)\n") }
    }

    static var commandLine: String { CommandLine.arguments.map { Paths.basename($0) == "vgpuctl" ? "vgpuctl" : $0 }.joined(separator: " ") }

    var journal: Journal { Journal(paths: host.paths, os: host.os) }

    func libvirt() throws -> LibvirtConnection {
        if let connection { return connection }
        let opened = try LibvirtConnection(uri: libvirtOptions?.connect)
        connection = opened
        return opened
    }

    /// The inventory with each vGPU's domain. `required` false: a host where libvirt is not running has no
    /// domain to hold a vGPU, so go on without.
    func inventory(domains required: Bool) throws -> Inventory {
        let inventory = try host.inventory()
        do {
            return try libvirt().annotate(inventory)
        } catch let error as VGPUError where !required && error.message.hasPrefix("could not connect") {
            return inventory
        }
    }

    /// Refuses a vGPU a process holds open (checked on /proc, so it works with libvirtd down).
    func refuseIfHeld(_ uuid: DeviceUUID, in inventory: Inventory) throws {
        guard let vgpu = inventory.vgpu(uuid) else { return }
        try DeviceHolders(paths: host.paths, os: host.os).refuseIfHeld(vgpu)
    }

    func execute(_ plan: Plan) throws {
        try Executor(runner: runner, journal: journal, command: Self.commandLine).execute(plan)
    }
}
