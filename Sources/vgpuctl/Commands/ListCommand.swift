import ArgumentParser
import VGPUApp
import VGPUCore

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the vGPUs that exist now and the domain using each; with --defined, the definitions.",
        usage: "vgpuctl list [--defined | --passthrough] [--json] [<options>]",
        discussion: """
            The DOMAIN column lists every domain whose definition or running state names the vGPU (several, \
            comma-separated, when shut-off domains share one). It needs libvirt; without it (--no-libvirt, or \
            libvirtd down) it shows '-'. --defined lists persistent definitions (mdevctl's and vgpuctl's) and \
            whether each vGPU runs now; with --json each has "attrs" as mdevctl's --dumpjson shows them, with -v \
            the table lists them numbered. --passthrough lists the PCI functions 'vgpuctl passthrough' gave a \
            domain: the domain that owns each, the driver it goes back to, the driver bound now and its lifetime \
            (persistent: until detach or destroy --vm; domain: until that run of the domain ends); with --json \
            [{"address", "domain", "original_driver"?, "driver"?, "lifetime"}].
            """)

    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var libvirt: LibvirtOptions
    @Flag(help: "Do not ask libvirt which domain uses each vGPU.") var noLibvirt = false
    @Flag(help: "List the persistent definitions instead.") var defined = false
    @Flag(help: "List the passed-through GPUs (their functions) instead.") var passthrough = false
    @Flag(name: .shortAndLong, help: "With --defined: show each definition's attributes, numbered as 'modify --index' takes them.")
    var verbose = false

    func run() throws {
        let application = host.application(libvirt: libvirt)
        if defined { return try listDefinitions(application.read(ReadInventory())) }
        if passthrough { return try listPassthrough(application.read(ReadPassthroughGPUs())) }
        let read = try application.read(ReadVGPUs(domains: !noLibvirt))
        if let missing = read.domainsMissing { Console.error("vgpuctl: note: domains not shown: \(missing)\n") }
        let inventory = read.inventory
        if output.json { return try JSONOutput.print(inventory.vgpus) }
        var table = Table("UUID", "PARENT", "TYPE", "LAYOUT", "DOMAIN")
        for vgpu in inventory.vgpus {
            table.add(vgpu.uuid.text, vgpu.parent, vgpu.type, vgpu.layout.rawValue, vgpu.domains.isEmpty ? "-" : vgpu.domains.joined(separator: ","))
        }
        Console.out(table.render() + "\n")
    }

    private func listPassthrough(_ rows: [ReadPassthroughGPUs.Row]) throws {
        if output.json {
            var writer = JSONWriter(.pretty)
            writer.beginArray()
            for row in rows {
                writer.element()
                writer.beginObject()
                writer.key("address"); writer.string(row.record.address)
                writer.key("domain"); writer.string(row.record.domain)
                if let original = row.record.driver { writer.key("original_driver"); writer.string(original) }
                if let driver = row.driver { writer.key("driver"); writer.string(driver) }
                writer.key("lifetime"); writer.string(row.record.lifetime.rawValue)
                writer.endObject()
            }
            writer.endArray()
            return Console.out(String(decoding: writer.bytes, as: UTF8.self) + "\n")
        }
        var table = Table("ADDRESS", "DOMAIN", "GIVEN BACK TO", "DRIVER NOW", "LIFETIME")
        for row in rows { table.add(row.record.address, row.record.domain, row.record.driverText, row.driver ?? "-", row.record.lifetime.rawValue) }
        Console.out(table.render() + "\n")
    }

    private func listDefinitions(_ inventory: Inventory) throws {
        let rows = inventory.definitions.map { DefinedVGPU($0, running: inventory.vgpu($0.uuid) != nil) }
        if output.json { return try JSONOutput.print(rows) }
        var table = Table("UUID", "PARENT", "TYPE", "START", "STATE")
        for row in rows { table.add(row.uuid.text, row.parent, row.type, row.start.rawValue, row.running ? "running" : "stopped") }
        guard verbose else { return Console.out(table.render() + "\n") }
        // A row per definition, then its attributes as mdevctl's `list -v` shows them: `@{index}: {"name":"value"}`.
        let lines = table.render().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var out = [lines[0]]
        for (row, line) in zip(inventory.definitions, lines.dropFirst()) {
            out.append(line)
            if !row.attributes.isEmpty { out.append("  Attrs:") }
            for (index, attribute) in row.attributes.enumerated() {
                out.append("    @{\(index)}: {\"\(attribute.name)\":\"\(attribute.value)\"}")
            }
        }
        Console.out(out.joined(separator: "\n") + "\n")
    }
}

struct DefinedVGPU: Encodable {
    let uuid: DeviceUUID
    let parent: String
    let type: String
    let start: Definition.Start
    let layout: Layout
    let running: Bool
    /// As mdevctl's `--dumpjson`: one single-key object per attribute, in the order they are written.
    let attrs: [[String: String]]

    init(_ definition: Definition, running: Bool) {
        (uuid, parent, type, start, layout) = (definition.uuid, definition.parent, definition.type, definition.start, definition.layout)
        self.running = running
        attrs = definition.attributes.map { [$0.name: $0.value] }
    }
}
