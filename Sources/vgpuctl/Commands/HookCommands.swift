import ArgumentParser
import VGPUApp
import VGPUCore

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
        switch try host.application().perform(HookLink(.install)) {
        case let .alreadyInstalled(link, target): Console.out("already installed: \(link) -> \(target)\n")
        case let .installed(link, target):
            Console.out("installed \(link) -> \(target)\nlibvirtd reads its hooks when it starts: restart it once (systemctl restart libvirtd)\n")
        case .removed, .notInstalled: break
        }
    }
}

struct UninstallHookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uninstall-hook", abstract: "Remove the libvirt hook 'install-hook' installed (restart libvirtd afterwards).")

    @OptionGroup var host: HostOptions

    func run() throws {
        switch try host.application().perform(HookLink(.uninstall)) {
        case let .notInstalled(link): Console.out("not installed: \(link)\n")
        case let .removed(link): Console.out("removed \(link)\nrestart libvirtd so that it stops running it\n")
        case .installed, .alreadyInstalled: break
        }
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
