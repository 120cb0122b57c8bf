#if canImport(Glibc)
import Glibc
#endif
import VGPUApp
import VGPUCore

/// The libvirt hook's front end: vgpuctl started as `vgpuctl-hook` (the link 'vgpuctl install-hook' puts into
/// /etc/libvirt/hooks/qemu.d/) or as `vgpuctl hook ARGS`. No argument parser, no libvirt: libvirtd waits for
/// this process on every operation of every domain.
enum HookMain {
    static let name = HookLink.name

    static func run(_ arguments: [String]) -> Never {
        let started = ProcessServices.now()
        // Read stdin whatever the operation: libvirtd writes the domain XML into a pipe.
        let input = ProcessServices.readStandardInput()
        guard let operation = LibvirtHook.Operation(arguments: arguments), LibvirtHook.mayConcernVGPUs(input) else { exit(0) }
        let environment = Environment.resolve()
        let application = Application(environment: environment, command: "vgpuctl-hook")
        // libvirtd runs hooks with only LC_ALL, PATH and HOME: the config file's [hook] lock_wait is what reaches
        // the hook there (a config that does not parse is reported by the run itself, below).
        let wait = environment.variables["VGPUCTL_HOOK_WAIT"].flatMap(Double.init)
            ?? ((try? application.read(ReadPlacementConfig()))?.hookLockWait).map(Double.init) ?? 10
        let writeBound = environment.variables["VGPUCTL_HOOK_WRITE_TIMEOUT"].flatMap(Double.init) ?? 10
        do {
            let outcome = try application.run(LibvirtHook(operation, domainXML: String(decoding: input, as: UTF8.self), wait: wait,
                                                          started: started, writeBound: writeBound))
            for line in outcome.actions { log(LOG_INFO, line) }
            // What concurrent starts cost each other: the host lock serialises the hooks (vmtier's load scenario
            // reads these lines for the wait's p50/p99).
            log(LOG_INFO, "domain \(arguments[0]) \(arguments[1]): host lock waited \(Int(outcome.lockWaitMilliseconds.rounded())) ms")
            // libvirt ignores what release prints, but the log keeps it and a person running the hook sees it.
            for line in outcome.warnings {
                Console.error("vgpuctl: warning: \(line)\n")
                log(LOG_WARNING, line)
            }
            // At 'migrate begin' libvirt takes the hook's standard output as the domain XML (empty: unchanged).
            if let xml = outcome.xml { Console.out(xml) }
            exit(0)
        } catch let error as VGPUError {
            // libvirt shows the hook's standard error to whoever started the domain ('virsh start').
            Console.error("vgpuctl: \(error)\n")
            log(LOG_ERR, "domain \(arguments.first ?? "?") \(arguments.dropFirst().prefix(2).joined(separator: " ")): \(error.message)")
            exit(error.exitCode)
        } catch {
            Console.error("vgpuctl: \(error)\n")
            exit(1)
        }
    }

    /// To syslog (journald), as daemon.
    static func log(_ priority: Int32, _ message: String) {
        openlog(name, LOG_PID, LOG_DAEMON)
        message.withCString { text in withVaList([text]) { vsyslog(priority, "%s", $0) } }
        if Environment.Variables.process["VGPUCTL_DEBUG"] != nil { Console.error("vgpuctl-hook: \(message)\n") }
    }
}
