import ArgumentParser
import VGPUCore
import VGPUApp

struct DefineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "define",
        abstract: "Define a vGPU persistently (mdevctl's format) without creating it; 'vgpuctl start' creates it.",
        usage: "vgpuctl define --type <type> [--parent <parent>] [<options>]",
        discussion: """
            mdev definitions go to /etc/mdevctl.d/<parent>/<uuid>, so 'mdevctl list -d' shows them and mdevctl can \
            start them; vendor-specific VFIO definitions go to /var/lib/vgpuctl/definitions/<vf>/<uuid>. With \
            --auto (the default) the vGPU is created whenever its parent appears (at boot). Given the UUID of a vGPU \
            that exists, define makes that vGPU persistent. Prints the UUID. Each --attr NAME=VALUE is written, \
            in the order given, to the file NAME (a path relative to the device's sysfs directory) whenever the \
            vGPU is started; if the driver refuses one, the start fails and the vGPU is removed again.

            EXAMPLES:
              vgpuctl define --type mtty-2 --parent mtty
              vgpuctl define --type nvidia-222 --parent 0000:3b:00.0 \\
                --attr nvidia/vgpu_params=enable_uvm=1
              vgpuctl define --type nvidia-1414 --manual \\
                --uuid 0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50
            """)

    @OptionGroup var host: HostOptions
    @OptionGroup var lock: LockOptions
    @Option(help: "The vGPU type id.") var type: String
    @Option(help: "The parent (without it, the placer picks one that has room now).") var parent: String?
    @Option(help: "Use this UUID instead of a generated one.") var uuid: String?
    @Flag(exclusivity: .exclusive, help: "auto: created when the parent appears (default); manual: only by 'start'.")
    var start: StartFlag = .auto
    @OptionGroup var attributes: AttributeOptions

    func validate() throws {
        _ = try Validation.typeName(type)
        if let parent { _ = try Validation.parentName(parent) }
        if let uuid { _ = try DeviceUUID(parsing: uuid) }
        _ = try attributes.parsed()
    }

    func run() throws {
        let id = try uuid.map(DeviceUUID.init(parsing:)) ?? ProcessServices.newUUID()
        try host.application(lock: lock).run(DefineVGPU(type: type, parent: parent, uuid: id, start: start.value, attributes: attributes.parsed()))
        Console.out(id.text + "\n")
    }
}

/// `--attr NAME=VALUE`, repeatable, in order: a definition's sysfs attributes.
struct AttributeOptions: ParsableArguments {
    @Option(name: .customLong("attr"), help: ArgumentHelp(
        "A sysfs attribute of the vGPU, written in order at every start (repeatable).", valueName: "name=value"))
    var values: [String] = []

    func parsed() throws -> [Definition.Attribute] {
        let attributes = try values.map { text in
            guard let equals = text.firstIndex(of: "=") else {
                throw VGPUError(.invalidInput, "--attr '\(Validation.printable(text))' has no '='", fix: "give it as NAME=VALUE, e.g. nvidia/vgpu_params=enable_uvm=1")
            }
            return Definition.Attribute(name: String(text[..<equals]), value: String(text[text.index(after: equals)...]))
        }
        try Validation.attributes(attributes)
        return attributes
    }
}

enum StartFlag: String, EnumerableFlag {
    case auto, manual
    var value: Definition.Start { self == .auto ? .auto : .manual }
}

/// undefine and stop: one UUID in, one use case.
protocol DefinitionAction: ParsableCommand {
    var host: HostOptions { get }
    var lock: LockOptions { get }
    var uuid: String { get }
    func act(on uuid: DeviceUUID, in application: Application) throws
}

extension DefinitionAction {
    func validate() throws { _ = try DeviceUUID(parsing: uuid) }

    func run() throws {
        try act(on: DeviceUUID(parsing: uuid), in: host.application(lock: lock))
    }
}

struct UndefineCommand: DefinitionAction {
    static let configuration = CommandConfiguration(
        commandName: "undefine", abstract: "Delete a vGPU's definition; a running vGPU keeps running.",
        usage: "vgpuctl undefine <uuid> [<options>]")
    @OptionGroup var host: HostOptions
    @OptionGroup var lock: LockOptions
    @Argument(help: "The vGPU's UUID.") var uuid: String
    @Option(help: "The parent, when the UUID is defined on several.") var parent: String?
    func validate() throws {
        _ = try DeviceUUID(parsing: uuid)
        if let parent { _ = try Validation.parentName(parent) }
    }
    func act(on uuid: DeviceUUID, in application: Application) throws { try application.run(UndefineVGPU(uuid, parent: parent)) }
}

struct StartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start", abstract: "Create the vGPU a definition describes (vgpuctl's or mdevctl's); --auto: every auto one.",
        usage: "vgpuctl start (<uuid> | --auto) [<options>]",
        discussion: """
            --auto starts every definition with start=auto that is not running: what vgpuctl-autostart.service \
            runs at boot (mdevctl's udev rule starts mdev definitions too; vendor-specific VFIO ones only vgpuctl \
            knows). Each is started on its own; the exit status is non-zero if any could not be (each is named).
            Once the vGPU exists, the definition's attributes are written in order; if one fails, the vGPU is removed
            again and the error names the attribute, the value and the kernel's reason. mdevctl's callout scripts
            (/etc/mdevctl.d/scripts.d/callouts) run before and after; one that refuses stops the start (exit 9).
            """)
    @OptionGroup var host: HostOptions
    @OptionGroup var lock: LockOptions
    @Argument(help: "The vGPU's UUID, as 'vgpuctl list --defined' shows it.") var uuid: String?
    @Option(help: "The parent, when the UUID is defined on several (mdevctl allows that).") var parent: String?
    @Flag(help: "Start every auto definition that is not running.") var auto = false

    func validate() throws {
        if let uuid { _ = try DeviceUUID(parsing: uuid) }
        if let parent { _ = try Validation.parentName(parent) }
        if parent != nil && auto { throw VGPUError(.invalidInput, "--parent names one definition; --auto starts them all", fix: "drop one") }
        guard (uuid == nil) != (!auto) else {
            throw VGPUError(.invalidInput, auto ? "give a UUID or --auto, not both" : "give the UUID of a definition, or --auto",
                            fix: "see 'vgpuctl list --defined'")
        }
    }

    func run() throws {
        let application = host.application(lock: lock)
        guard auto else { return try application.run(StartVGPU(DeviceUUID(parsing: uuid!), parent: parent)) }
        var failures = 0
        for (definition, result) in try application.run(StartAutoVGPUs()) {
            switch result {
            case .success: Console.out("started \(definition.uuid) (\(definition.type) on \(definition.parent))\n")
            case .failure(let error):
                failures += 1
                Console.error("vgpuctl: could not start \(definition.uuid): \(error)\n")
            }
        }
        if failures > 0 {
            throw VGPUError(.host, "\(failures) auto definition(s) could not be started (see above)", fix: "fix each cause, then run 'vgpuctl start --auto' again")
        }
    }
}

struct StopCommand: DefinitionAction {
    static let configuration = CommandConfiguration(
        commandName: "stop", abstract: "Remove a defined vGPU and keep its definition (refused while a domain uses it).",
        usage: "vgpuctl stop <uuid> [<options>]")
    @OptionGroup var host: HostOptions
    @OptionGroup var lock: LockOptions
    @Argument(help: "The vGPU's UUID.") var uuid: String
    func act(on uuid: DeviceUUID, in application: Application) throws { try application.run(StopVGPU(uuid)) }
}

struct RecoverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract: "Complete or undo operations a crash interrupted (every state-changing command does this first).",
        usage: "vgpuctl recover [<options>]",
        discussion: """
            Each multi-step operation is recorded in /var/lib/vgpuctl/journal before it starts. An interrupted \
            create (with --persist or --vm) or attach is undone; an interrupted destroy, detach or remove is \
            finished. Prints what it did; exit 7 if an operation could not be recovered (the message says why).
            """)
    @OptionGroup var host: HostOptions
    @OptionGroup var lock: LockOptions
    @OptionGroup var libvirt: LibvirtOptions

    func run() throws {
        // The session recovers as it starts (and reports each operation on stderr).
        let recovered = try host.application(lock: lock, libvirt: libvirt).run(Recover())
        Console.out(recovered.isEmpty ? "nothing to recover\n" : "recovered \(recovered.count) interrupted operation(s)\n")
    }
}
