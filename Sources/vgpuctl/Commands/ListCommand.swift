import ArgumentParser
import VGPUApp
import VGPUCore
import VGPUHost

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the vGPUs that exist now and the domain using each; with --defined, the definitions.",
        usage: "vgpuctl list [--defined] [--json] [<options>]",
        discussion: """
            The DOMAIN column needs libvirt; without it (--no-libvirt, or libvirtd down) it shows '-'. \
            --defined lists persistent definitions (mdevctl's and vgpuctl's) and whether each vGPU runs now.
            """)

    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var libvirt: LibvirtOptions
    @Flag(help: "Do not ask libvirt which domain uses each vGPU.") var noLibvirt = false
    @Flag(help: "List the persistent definitions instead.") var defined = false

    func run() throws {
        var inventory = try host.inventory()
        if defined { return try listDefinitions(inventory) }
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

    private func listDefinitions(_ inventory: Inventory) throws {
        let rows = inventory.definitions.map { DefinedVGPU($0, running: inventory.vgpu($0.uuid) != nil) }
        if output.json { return try JSONOutput.print(rows) }
        var table = Table("UUID", "PARENT", "TYPE", "START", "STATE")
        for row in rows { table.add(row.uuid.text, row.parent, row.type, row.start.rawValue, row.running ? "running" : "stopped") }
        Console.out(table.render() + "\n")
    }
}

struct DefinedVGPU: Encodable {
    let uuid: DeviceUUID
    let parent: String
    let type: String
    let start: Definition.Start
    let layout: Layout
    let running: Bool

    init(_ definition: Definition, running: Bool) {
        (uuid, parent, type, start, layout) = (definition.uuid, definition.parent, definition.type, definition.start, definition.layout)
        self.running = running
    }
}
