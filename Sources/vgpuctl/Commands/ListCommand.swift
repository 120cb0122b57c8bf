import ArgumentParser
import VGPUCore

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the vGPUs that exist now.")

    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let vgpus = try host.inventory().vgpus
        if output.json { return try JSONOutput.print(vgpus) }
        var table = Table("UUID", "PARENT", "TYPE", "LAYOUT", "DOMAIN")
        for vgpu in vgpus {
            table.add(vgpu.uuid.text, vgpu.parent, vgpu.type, vgpu.layout.rawValue, vgpu.domain ?? "-")
        }
        print(table.render())
    }
}
