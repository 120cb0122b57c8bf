import ArgumentParser
import VGPUApp
import VGPUCore
import VGPUHost

/// Where libvirt (6.5 and later) runs every executable of a hooks directory, in order.
enum HookInstallation {
    static func directory(_ host: HostOptions) -> String { Paths.join(host.paths.root, "etc/libvirt/hooks/qemu.d") }
    static func link(_ host: HostOptions) -> String { Paths.join(directory(host), HookMain.name) }
}

struct InstallHookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install-hook",
        abstract: "Let libvirt run vgpuctl for every domain start and stop (a link in /etc/libvirt/hooks/qemu.d).",
        discussion: """
            Installs /etc/libvirt/hooks/qemu.d/vgpuctl-hook, a link to this vgpuctl. libvirtd then runs it for
            every domain operation: at 'prepare begin' it makes every mdev the domain references exist (starts
            its definition, or places and creates the vGPU the domain's vgpuctl metadata asks for, or refuses the
            start with a message 'virsh start' shows); at 'release end' it removes vGPUs whose lifetime is the
            domain's. It never calls libvirt back, waits at most VGPUCTL_HOOK_WAIT seconds (default 10) for the
            host lock, and logs to syslog. A domain without vGPUs costs one read of its XML.

            libvirtd reads its hooks directory when it starts: restart it once after installing
            (systemctl restart libvirtd, or virtqemud on modular daemons).
            """)

    @OptionGroup var host: HostOptions

    func run() throws {
        let os = host.os, link = HookInstallation.link(host)
        let target = try os.readLink("/proc/self/exe")
        do {
            try os.makeDirectories(HookInstallation.directory(host))
            if os.exists(link) {
                guard (try? os.readLink(link)) == target else {
                    throw VGPUError(.busy, "\(link) exists and is not a link to \(target)", fix: "remove it, or run 'vgpuctl uninstall-hook' first")
                }
                return Console.out("already installed: \(link) -> \(target)\n")
            }
            try os.symlink(target, at: link)
        } catch let error as OSError {
            throw VGPUError(.host, "could not install the hook: \(error)", fix: "run as root")
        }
        Console.out("installed \(link) -> \(target)\nlibvirtd reads its hooks when it starts: restart it once (systemctl restart libvirtd)\n")
    }
}

struct UninstallHookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uninstall-hook", abstract: "Remove the libvirt hook 'install-hook' installed (restart libvirtd afterwards).")

    @OptionGroup var host: HostOptions

    func run() throws {
        let os = host.os, link = HookInstallation.link(host)
        guard os.exists(link) else { return Console.out("not installed: \(link)\n") }
        guard let target = try? os.readLink(link), Paths.basename(target) == "vgpuctl" else {
            throw VGPUError(.busy, "\(link) is not a link to vgpuctl; left as it is", fix: "remove it by hand if it is yours to remove")
        }
        do { try os.unlink(link) } catch { throw VGPUError(.host, "could not remove \(link): \(error)", fix: "run as root") }
        Console.out("removed \(link)\nrestart libvirtd so that it stops running it\n")
    }
}

/// `vgpuctl hook DOMAIN OPERATION SUB-OPERATION EXTRA`: what libvirt runs through the link (for tests and for
/// running the hook by hand with a domain's XML on stdin).
struct HookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hook", abstract: "Run the libvirt hook by hand: domain XML on stdin, libvirt's arguments.", shouldDisplay: false)

    @Argument(parsing: .captureForPassthrough) var arguments: [String] = []

    func run() throws { HookMain.run(arguments) }
}
