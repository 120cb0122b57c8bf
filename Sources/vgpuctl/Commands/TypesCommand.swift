import ArgumentParser
import VGPUApp
import VGPUCore

struct TypesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "types",
        abstract: "List the vGPU types each parent offers, with free instances.",
        usage: "vgpuctl types [--parent <parent>] [--json] [<options>]",
        discussion: "Parents are mdev parents and vendor-specific VFIO VFs; GPU is the physical GPU (an SR-IOV VF's PF)."
    )

    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "Only this parent.") var parent: String?

    func validate() throws {
        if let parent { _ = try Validation.parentName(parent) }
    }

    func run() throws { try Self.run(host.application(), parent: parent, json: output.json) }

    /// The command's work, shared with the fast path (FastPath.swift).
    static func run(_ application: Application, parent: String?, json: Bool) throws {
        var parents = try application.read(ReadInventory()).parents
        if let parent {
            parents = parents.filter { $0.name == parent }
            if parents.isEmpty {
                throw VGPUError(.notFound, "unknown parent '\(parent)'", fix: "run 'vgpuctl types' to see every parent")
            }
        }
        // JSONWriter, not JSONEncoder: the encoder's cost is most of a large host's `types --json`.
        if json { return Console.out(JSONWriter.parents(parents) + [0x0A]) }
        var table = Table("PARENT", "GPU", "TYPE", "AVAILABLE", "API", "NAME")
        for parent in parents {
            for type in parent.types {
                table.add(parent.name, parent.gpu, type.id, String(type.availableInstances), type.deviceAPI ?? "-", type.name ?? "-")
            }
        }
        Console.out(table.render() + "\n")
    }
}
