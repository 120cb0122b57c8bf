import ArgumentParser
import VGPUApp
import VGPUCore
import VGPUHost

/// `--wait`: every state-changing command takes it.
struct LockOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Seconds to wait for the host lock another vgpuctl holds (0: fail at once, exit 5).", valueName: "seconds"))
    var wait: Double = Self.defaultWait
    static let defaultWait: Double = 60

    func validate() throws {
        guard wait >= 0, wait.isFinite else {
            throw VGPUError(.invalidInput, "--wait \(wait) is not a number of seconds", fix: "give 0 or more")
        }
    }
}

extension HostSession {
    /// The CLI's session: the host from --root/--sysfs-root, the lock wait from --wait, libvirt from --connect.
    convenience init(host: HostOptions, lock: LockOptions, libvirt: LibvirtOptions? = nil) throws {
        try self.init(host: host.context, wait: lock.wait, libvirt: libvirt?.settings ?? LibvirtSettings())
    }

    /// The same from plain values (the fast path); the lock holder is the command line.
    convenience init(host: HostContext, wait: Double, libvirt: LibvirtSettings) throws {
        try self.init(host: host, wait: wait, libvirt: libvirt,
                      command: CommandLine.arguments.map { Paths.basename($0) == "vgpuctl" ? "vgpuctl" : $0 }.joined(separator: " "))
    }
}
