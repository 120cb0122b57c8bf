import ArgumentParser
import VGPUApp
import VGPUCore

struct ModifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modify",
        abstract: "Change a vGPU's definition as 'mdevctl modify' does: type, auto/manual, add or delete an attribute.",
        discussion: """
            The file stays in mdevctl's format. A running vGPU keeps running as it is; the change applies from its
            next start. --parent picks the definition when the UUID is defined on several parents (it does not
            move it). --addattr NAME --value V adds an attribute at --index N (default: at the end); --delattr
            deletes the one at --index N (default: the last). 'vgpuctl list --defined -v' shows the indexes.
            mdevctl's callout scripts run before and after; one that refuses stops the change (exit 9).

            EXAMPLES:
              vgpuctl modify 0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50 --auto
              vgpuctl modify 0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50 --addattr nvidia/vgpu_params --value enable_uvm=1 --index 0
              vgpuctl modify 0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50 --delattr --index 2
            """)

    @OptionGroup var host: HostOptions
    @OptionGroup var lock: LockOptions
    @Argument(help: "The vGPU's UUID.") var uuid: String
    @Option(help: "The parent of the definition to change, when the UUID is defined on several.") var parent: String?
    @Option(help: "The new vGPU type id.") var type: String?
    @Flag(help: "Start it whenever its parent appears.") var auto = false
    @Flag(help: "Start it only by 'vgpuctl start'.") var manual = false
    @Option(help: ArgumentHelp("Add the sysfs attribute NAME (with --value).", valueName: "name")) var addattr: String?
    @Option(help: "The value of the attribute --addattr adds.") var value: String?
    @Flag(help: "Delete an attribute (the last, or the one at --index).") var delattr = false
    @Option(help: "Where --addattr inserts, or which --delattr deletes (0 is the first).") var index: Int?

    func validate() throws {
        _ = try DeviceUUID(parsing: uuid)
        if let parent { _ = try Validation.parentName(parent) }
        if let type { _ = try Validation.typeName(type) }
        if auto && manual { throw VGPUError(.invalidInput, "--auto and --manual exclude each other", fix: "give one") }
        if addattr != nil && delattr { throw VGPUError(.invalidInput, "--addattr and --delattr exclude each other", fix: "one change per call") }
        if let addattr {
            guard let value else { throw VGPUError(.invalidInput, "--addattr \(addattr) has no --value", fix: "add --value VALUE") }
            try Validation.attributes([Definition.Attribute(name: addattr, value: value)])
        } else if value != nil {
            throw VGPUError(.invalidInput, "--value belongs to --addattr", fix: "add --addattr NAME")
        }
        if let index {
            guard addattr != nil || delattr else { throw VGPUError(.invalidInput, "--index needs --addattr or --delattr", fix: "add one") }
            guard index >= 0 else { throw VGPUError(.invalidInput, "--index \(index) is negative", fix: "0 is the first attribute") }
        }
        guard type != nil || auto || manual || addattr != nil || delattr else {
            throw VGPUError(.invalidInput, "nothing to change", fix: "give --type, --auto, --manual, --addattr or --delattr")
        }
    }

    var change: DefinitionChange {
        var change = DefinitionChange(type: type, start: auto ? .auto : manual ? .manual : nil)
        if let addattr, let value { change.attribute = .add(Definition.Attribute(name: addattr, value: value), index: index) }
        if delattr { change.attribute = .delete(index: index) }
        return change
    }

    func run() throws {
        _ = try host.application(lock: lock).run(ModifyDefinition(DeviceUUID(parsing: uuid), parent: parent, change: change))
    }
}
