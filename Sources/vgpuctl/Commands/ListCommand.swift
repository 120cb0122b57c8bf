import ArgumentParser
import VGPUCore
import VGPUHost

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the vGPUs that exist now, and the libvirt domain that uses each.",
        discussion: "The DOMAIN column needs libvirt; without it (--no-libvirt, or libvirtd down) it shows '-'.")

    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var libvirt: LibvirtOptions
    @Flag(help: "Do not ask libvirt which domain uses each vGPU.") var noLibvirt = false

    func run() throws {
        var inventory = try host.inventory()
        if !noLibvirt && !inventory.vgpus.isEmpty {
            do { inventory = try libvirt.open().annotate(inventory) } catch let error as VGPUError {
                Console.error("vgpuctl: note: domains not shown: \(error.message)\n")
            }
        }
        if output.json { return try JSONOutput.print(inventory.vgpus) }
        var table = Table("UUID", "PARENT", "TYPE", "LAYOUT", "DOMAIN")
        for vgpu in inventory.vgpus {
            table.add(vgpu.uuid.text, vgpu.parent, vgpu.type, vgpu.layout.rawValue, vgpu.domain ?? "-")
        }
        Console.out(table.render() + "\n")
    }
}
