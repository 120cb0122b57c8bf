import ArgumentParser
import VGPUCore
import VGPUHost

struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Remove a vGPU.",
        discussion: """
            A vGPU that a libvirt domain references is refused (exit 5) with the domain's name: the kernel would
            block the remove until QEMU lets go. Detach it first, or use 'vgpuctl destroy --vm DOMAIN'.
            """)

    @OptionGroup var host: HostOptions
    @OptionGroup var libvirt: LibvirtOptions
    @Argument(help: "The vGPU's UUID, as 'vgpuctl list' shows it.") var uuid: String

    func validate() throws { _ = try DeviceUUID(parsing: uuid) }

    func run() throws {
        var inventory = try host.inventory()
        do { inventory = try libvirt.open().annotate(inventory) } catch let error as VGPUError where error.message.hasPrefix("could not connect") {
            // A host without libvirt has no domain to hold the vGPU.
        }
        try host.executor().execute(LifecyclePlanner.remove(try DeviceUUID(parsing: uuid), inventory: inventory))
    }
}
