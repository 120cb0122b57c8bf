import ArgumentParser
import VGPUApp
import VGPUCore

struct NodedevsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nodedevs",
        abstract: "List libvirt's node devices for vGPUs (capability mdev) and their parents (mdev_types).",
        discussion: """
            What libvirt's node device driver sees, through its API: a cross-check of 'vgpuctl list', and the names \
            libvirt-based tools use (mdev_<uuid>_<parent>). Inactive mdevs are definitions libvirt read from mdevctl.
            """)

    @OptionGroup var output: OutputOptions
    @OptionGroup var libvirt: LibvirtOptions

    func run() throws {
        let devices = try Application(environment: .resolve(connect: libvirt.connect), command: HostOptions.commandLine).read(ReadNodeDevices())
        if output.json { return Console.out(JSONWriter.nodeDevices(devices) + [0x0A]) }
        var table = Table("NAME", "PARENT", "STATE", "UUID", "TYPE(S)")
        for device in devices {
            let types = device.type ?? device.types.map { "\($0.id) (\($0.availableInstances) free)" }.joined(separator: ", ")
            table.add(device.name, device.parent ?? "-", device.active ? "active" : "inactive", device.uuid?.text ?? "-", types)
        }
        Console.out(table.render() + "\n")
    }
}
