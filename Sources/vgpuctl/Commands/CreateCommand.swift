import ArgumentParser
import VGPUCore
import VGPUHost

struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a vGPU of a type, on a parent with a free instance.",
        discussion: """
            Without --parent, the placement policy picks the parent (see 'vgpuctl plan'). Prints the new vGPU's UUID.
            Nothing is written unless every check passes; a failed create leaves nothing behind.
            """
    )

    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "The vGPU type id, as 'vgpuctl types' lists it (e.g. nvidia-222, mdpy-vga).") var type: String
    @Option(help: "The parent (mdev parent or VF address) to create it on.") var parent: String?
    @Option(help: "Use this UUID instead of a generated one.") var uuid: String?

    func validate() throws {
        _ = try Validation.typeName(type)
        if let parent { _ = try Validation.parentName(parent) }
        if let uuid { _ = try DeviceUUID(parsing: uuid) }
    }

    func run() throws {
        let inventory = try host.inventory()
        let request = PlacementRequest(type: type, count: 1, parent: parent)
        let chosenUUID = try uuid.map(DeviceUUID.init(parsing:)) ?? LibUUID.random()
        let (placements, plan) = try LifecyclePlanner.create(request, uuids: [chosenUUID], inventory: inventory)
        let os = host.os
        try Executor(runner: HostStepRunner(sysfs: SysfsWriter(paths: host.paths, os: os))).execute(plan)
        let placement = placements[0]
        if output.json {
            return try JSONOutput.print(CreatedVGPU(uuid: chosenUUID, parent: placement.parent, gpu: placement.gpu,
                                                    type: placement.type, reason: placement.reason))
        }
        print(chosenUUID.text)
    }
}

struct CreatedVGPU: Encodable {
    let uuid: DeviceUUID
    let parent: String
    let gpu: String
    let type: String
    let reason: String
}
