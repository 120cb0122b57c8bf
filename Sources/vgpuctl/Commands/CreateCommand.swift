import ArgumentParser
import VGPUCore
import VGPUHost

struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a vGPU of a type, on a parent with a free instance; with --vm, attach it to a domain.",
        discussion: """
            Without --parent, the placement policy picks the parent (see 'vgpuctl plan'). Prints the new vGPU's UUID.
            With --vm the vGPU is attached to the domain's definition and, if the domain runs, to the running domain
            (--config or --live narrow that). It is one transaction: if any step fails, everything already done is
            undone. Nothing is written unless every check passes.

            EXAMPLES:
              vgpuctl create --type nvidia-222
              vgpuctl create --type nvidia-22 --vm web01 --display on
            """
    )

    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var libvirt: LibvirtOptions
    @Option(help: "The vGPU type id, as 'vgpuctl types' lists it (e.g. nvidia-222, mdpy-vga).") var type: String
    @Option(help: "The parent (mdev parent or VF address) to create it on.") var parent: String?
    @Option(help: "Use this UUID instead of a generated one.") var uuid: String?
    @Option(help: "Attach the new vGPU to this libvirt domain (name or UUID).") var vm: String?
    @Flag(help: "With --vm: change only the domain's persistent definition.") var config = false
    @Flag(help: "With --vm: change only the running domain.") var live = false
    @OptionGroup(title: "With --vm") var hostdev: HostdevOptions

    func validate() throws {
        _ = try Validation.typeName(type)
        if let parent { _ = try Validation.parentName(parent) }
        if let uuid { _ = try DeviceUUID(parsing: uuid) }
        if let vm { _ = try Validation.domainName(vm) }
        if vm == nil && (config || live || hostdev.isSet) {
            throw VGPUError(.invalidInput, "--config, --live, --display and --ramfb need --vm", fix: "add --vm DOMAIN")
        }
    }

    func run() throws {
        let request = PlacementRequest(type: type, count: 1, parent: parent)
        let chosenUUID = try uuid.map(DeviceUUID.init(parsing:)) ?? LibUUID.random()
        let placement: Placement
        if let vm {
            let connection = try libvirt.open()
            let inventory = try host.inventory(with: connection)
            let domain = try connection.domain(vm)
            let scope = try DomainPlanner.scope(config: config, live: live, domain: domain.name, isActive: domain.isActive)
            let (placements, _) = try LifecyclePlanner.create(request, uuids: [chosenUUID], inventory: inventory)
            let templates = try TemplateStore.load()
            let plan = try DomainPlanner.createAndAttach(placements, uuids: [chosenUUID], domain: domain.name, scope: scope) {
                try templates.hostdev(for: $0, options: hostdev.xml)
            }
            try host.executor(connection, detachTimeout: libvirt.detachTimeout).execute(plan)
            placement = placements[0]
        } else {
            let (placements, plan) = try LifecyclePlanner.create(request, uuids: [chosenUUID], inventory: host.inventory())
            try host.executor().execute(plan)
            placement = placements[0]
        }
        if output.json {
            return try JSONOutput.print(CreatedVGPU(uuid: chosenUUID, parent: placement.parent, gpu: placement.gpu,
                                                    type: placement.type, reason: placement.reason, domain: vm))
        }
        Console.out(chosenUUID.text + "\n")
    }
}

struct CreatedVGPU: Encodable {
    let uuid: DeviceUUID
    let parent: String
    let gpu: String
    let type: String
    let reason: String
    let domain: String?
}
