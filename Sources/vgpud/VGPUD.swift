import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import Logging
import ServiceLifecycle
import VGPUApp
import VGPUCore
import VGPUDaemon
import VGPUUdev

/// The daemon's command line. Everything it does goes through the application layer (VGPUApp) and the daemon
/// services (VGPUDaemon); this file parses, wires and runs them.
struct VGPUD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vgpud",
        abstract: "Keep vGPUs where they belong: start auto vGPUs when their parent GPU appears, reconcile on a schedule, serve Prometheus metrics.",
        discussion: """
            vgpud watches udev: when an mdev parent registers (a GPU driver loads, SR-IOV VFs appear) it starts that \
            parent's auto definitions (vgpuctl define --auto, mdevctl's auto), retrying with exponential backoff \
            (0.5 s doubling to 30 s, 8 attempts). At start it enables the SR-IOV VFs the config asks for \
            ([gpus."PF"] sriov_numvfs = N), waits up to --vf-wait seconds for them, and starts every missing auto \
            vGPU; it enables them again whenever such a PF's driver binds again (a driver reload takes the VFs \
            along); when the config selects a layout (layout = "NAME"), it applies it as 'vgpuctl apply' does, at \
            start and whenever a GPU appears, logging what it changed or why the layout was refused \
            (vgpud_layout_applies_total, vgpud_layout_changes_total, vgpud_layout_apply_failures_total); then it \
            reconciles every --reconcile-interval seconds, never removing anything unless --prune \
            (or prune = true under [vgpud] in the config). Each change takes the host lock like any vgpuctl command \
            (waiting up to --lock-wait seconds) and releases it; vgpud holds no lock while idle.

            Metrics: http://127.0.0.1:9477/metrics (--listen ADDRESS:PORT). One vgpud runs per host (an flock on \
            /run/vgpuctl/vgpud.lock): a second one exits 5 naming the first. SIGTERM or SIGINT stops it (exit 0). \
            Logs go to stderr (journald).

            \(VGPUError.exitCodeHelp)
            """)

    @Option(name: .long, help: ArgumentHelp("Where to serve the metrics.", valueName: "address:port"))
    var listen = "127.0.0.1:9477"

    @Option(name: .long, help: ArgumentHelp("Seconds between reconcile runs (default: the config's [vgpud] reconcile_interval, else 300).", valueName: "seconds"))
    var reconcileInterval: Int?

    @Flag(name: .long, help: "Let reconcile remove orphaned vGPUs (default: the config's [vgpud] prune, else never).")
    var prune = false

    @Option(name: .long, help: ArgumentHelp("Seconds each operation waits for the host lock.", valueName: "seconds"))
    var lockWait: Double = 60

    @Option(name: .long, help: ArgumentHelp("Seconds to wait at start for enabled VFs to become vGPU parents.", valueName: "seconds"))
    var vfWait: Double = 60

    @Option(name: .long, help: ArgumentHelp("Seconds between metric refreshes when nothing happens.", valueName: "seconds"))
    var metricsInterval: Double = 15

    @Option(name: .long, help: ArgumentHelp("trace, debug, info, notice, warning, error or critical.", valueName: "level"))
    var logLevel = "info"

    @Option(name: .long, help: ArgumentHelp("libvirt URI for the domain metrics (default: LIBVIRT_DEFAULT_URI, else qemu:///system).", valueName: "uri"))
    var connect: String?

    @Option(name: .long, help: ArgumentHelp("The directory that stands for / (definitions, state, locks).", valueName: "dir"))
    var root: String?

    @Option(name: .long, help: ArgumentHelp("The directory that stands for /sys.", valueName: "dir"))
    var sysfsRoot: String?

    func validate() throws {
        _ = try Self.address(listen)
        if let reconcileInterval, !(10...86_400).contains(reconcileInterval) {
            throw ValidationError("--reconcile-interval must be 10 to 86400 seconds, not \(reconcileInterval)")
        }
        guard lockWait >= 0, vfWait >= 0, metricsInterval >= 1 else {
            throw ValidationError("--lock-wait and --vf-wait must be 0 or more, --metrics-interval at least 1")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level '\(logLevel)'") }
    }

    /// `ADDRESS:PORT`, `[V6]:PORT`.
    static func address(_ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            throw ValidationError("--listen takes ADDRESS:PORT (e.g. 127.0.0.1:9477), not '\(text)'")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ValidationError("--listen needs an address before the port: 127.0.0.1:\(port)") }
        return (host, port)
    }

    func start() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "vgpud")
        let environment = Environment.resolve(root: root, sysfsRoot: sysfsRoot, connect: connect)
        let application = Application(environment: environment, lockWait: lockWait, command: "vgpud")
        let config = try application.read(ReadPlacementConfig())
        let lock = try ProcessServices.daemonLock(environment)

        let settings = ReconcileLoop.Settings(
            interval: Double(reconcileInterval ?? config.daemon.reconcileInterval ?? 300),
            prune: prune || (config.daemon.prune ?? false),
            vfs: config.sriovNumVFs, vfWait: vfWait)
        let actions = DaemonActions.live(application)
        let metrics = DaemonMetrics()
        let (address, port) = try Self.address(listen)
        let server = try await MetricsHTTPServer.bind(host: address, port: port, render: { metrics.render() }, logger: logger)
        let refresher = MetricsRefresher(actions: actions, metrics: metrics, interval: metricsInterval, logger: logger)
        let keeper = config.selectedLayout.map { _ in
            LayoutKeeper(apply: LayoutKeeper.live(application, actions: actions, metrics: metrics, logger: logger),
                         metrics: metrics, logger: logger, changed: { refresher.trigger() })
        }
        let watcher = UdevWatcher(source: try LibUdevMonitor(), starter: AutoStarter(actions: actions, metrics: metrics, logger: logger),
                                  keeper: keeper, actions: actions, metrics: metrics, logger: logger, vfs: settings.vfs,
                                  changed: { refresher.trigger() })
        let loop = ReconcileLoop(settings: settings, actions: actions, metrics: metrics, logger: logger, keeper: keeper,
                                 changed: { refresher.trigger() })

        let layout = config.selectedLayout.map { ", layout \($0) applied at start and when a GPU appears" } ?? ""
        logger.info("started (pid \(getpid()), root \(environment.root), reconcile every \(Int(settings.interval)) s\(settings.prune ? ", pruning" : ""), \(settings.vfs.count) PFs with sriov_numvfs\(layout))")
        let group = ServiceGroup(services: [server, refresher, watcher, NotifyWhenStopping(environment: environment), loop],
                                 gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // systemd (Type=notify): the lock is ours and the endpoint listens.
        ProcessServices.notifySystemd("READY=1\nMAINPID=\(getpid())", environment: environment)
        try await group.run()
        withExtendedLifetime(lock) {}
        logger.info("stopped")
    }
}

/// Tells systemd that vgpud is stopping as soon as a graceful shutdown begins.
struct NotifyWhenStopping: Service, CustomStringConvertible {
    var description: String { "NotifyWhenStopping" }
    let environment: Environment

    func run() async throws {
        try? await gracefulShutdown()
        ProcessServices.notifySystemd("STOPPING=1", environment: environment)
    }
}
