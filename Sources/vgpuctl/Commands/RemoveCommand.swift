import ArgumentParser
import VGPUCore
import VGPUApp

struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Remove a vGPU, and its definition if it has one.",
        usage: "vgpuctl remove <uuid> [<options>]",
        discussion: """
            A vGPU that a libvirt domain references, or that a process (QEMU) holds open, is refused (exit 5) with \
            the domain's name or the process: the kernel would block the remove until QEMU lets go. Detach it first, \
            or use 'vgpuctl destroy --vm DOMAIN'. To remove a vGPU but keep its definition, use 'vgpuctl stop'.
            """)

    @OptionGroup var host: HostOptions
    @OptionGroup var lock: LockOptions
    @OptionGroup var libvirt: LibvirtOptions
    @Argument(help: "The vGPU's UUID, as 'vgpuctl list' shows it.") var uuid: String

    func validate() throws { _ = try DeviceUUID(parsing: uuid) }

    func run() throws {
        try host.application(lock: lock, libvirt: libvirt).run(RemoveVGPU(DeviceUUID(parsing: uuid)))
    }
}
