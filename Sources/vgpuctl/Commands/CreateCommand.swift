import ArgumentParser
import VGPUCore
import VGPUApp

struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create vGPUs of a type where the placement policy puts them; with --vm, attach them to a domain.",
        discussion: """
            Without --parent, the placer picks the parent (see 'vgpuctl plan', which shows the same choice without \
            acting). Prints each new vGPU's UUID. With --persist each vGPU also gets a definition (mdevctl's format), \
            so it comes back after a reboot. With --vm the vGPUs are attached to the domain's definition and, if the \
            domain runs, to the running domain (--config or --live narrow that); placement prefers GPUs on the NUMA \
            node the domain is pinned to (its <numatune> memory node, or the node of the CPUs its vCPUs are pinned to).

            It is one transaction: if any step fails, everything already done is undone; if the process dies, \
            the next vgpuctl command (or 'vgpuctl recover') undoes it. Nothing is written unless every check passes.

            EXAMPLES:
              vgpuctl create --type nvidia-222
              vgpuctl create --type mdpy-vga --count 2 --policy spread --persist
              vgpuctl create --type nvidia-22 --vm web01 --display on
              vgpuctl create --type mtty-2 --vm web01 --lifetime domain
            """
    )

    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var lock: LockOptions
    @OptionGroup var placement: PlacementOptions
    @Option(help: "Use this UUID instead of a generated one (with --count 1 only).") var uuid: String?
    @Flag(help: "Also define the vGPUs (start auto), so they are created again at boot.") var persist = false
    @OptionGroup(title: "With --persist") var attributes: AttributeOptions
    @Option(help: "Attach the new vGPUs to this libvirt domain (name or UUID).") var vm: String?
    @Flag(help: "With --vm: change only the domain's persistent definition.") var config = false
    @Flag(help: "With --vm: change only the running domain.") var live = false
    @Option(help: ArgumentHelp("With --vm: persistent (create now and keep), or domain (create nothing now: the libvirt hook creates it when the domain starts and removes it when it stops; see 'vgpuctl install-hook'; a vendor-specific VFIO type reserves its VF now, typed at each start).", valueName: "lifetime"))
    var lifetime: VGPURequest.Lifetime = .persistent
    @OptionGroup var libvirt: LibvirtOptions
    @OptionGroup(title: "With --vm") var hostdev: HostdevOptions

    func validate() throws {
        try placement.check()
        if let uuid { _ = try DeviceUUID(parsing: uuid) }
        if uuid != nil && placement.count != 1 {
            throw VGPUError(.invalidInput, "--uuid names one vGPU, but --count is \(placement.count)", fix: "drop --uuid or --count")
        }
        if let vm { _ = try Validation.domainName(vm) }
        if try !attributes.parsed().isEmpty && !persist {
            throw VGPUError(.invalidInput, "--attr is part of the definition --persist writes", fix: "add --persist, or use 'vgpuctl define --attr'")
        }
        if vm == nil && (config || live || hostdev.isSet || lifetime == .domain) {
            throw VGPUError(.invalidInput, "--config, --live, --lifetime, --display and --ramfb need --vm", fix: "add --vm DOMAIN")
        }
        if lifetime == .domain && (placement.count != 1 || persist || live || placement.parent != nil) {
            throw VGPUError(.invalidInput, "--lifetime domain records one vGPU for the hook to create at each start",
                            fix: "drop --count, --persist, --live and --parent (use --group/--policy to steer placement)")
        }
    }

    func run() throws {
        let application = host.application(lock: lock, libvirt: libvirt)
        let uuids = try uuid.map { [try DeviceUUID(parsing: $0)] } ?? (0..<placement.count).map { _ in ProcessServices.newUUID() }
        if lifetime == .domain, let vm {
            try application.run(RequestForDomain(type: placement.type, uuid: uuids[0], domain: vm, group: placement.group,
                                                 policy: placement.policy, hostdev: hostdev.xml))
            return Console.out(uuids[0].text + "\n")
        }
        let placements = try vm.map {
            try application.run(CreateOnDomain(placement.request(), uuids: uuids, domain: $0, config: config, live: live, hostdev: hostdev.xml,
                                               persist: persist, attributes: attributes.parsed()))
        } ?? application.run(CreateVGPUs(placement.request(), uuids: uuids, persist: persist, attributes: attributes.parsed()))
        if output.json {
            return try JSONOutput.print(zip(uuids, placements).map { uuid, placement in
                CreatedVGPU(uuid: uuid, parent: placement.parent, gpu: placement.gpu, type: placement.type,
                            reason: placement.reason, domain: vm, defined: persist)
            })
        }
        Console.out(uuids.map { $0.text + "\n" }.joined())
    }
}

extension CreateCommand {
    /// `create --type T --vm NAME` with every other option at its default: what run() does for it, for the fast
    /// path (FastPath.swift).
    static func runOnDomain(_ application: Application, type: String, vm: String) throws {
        let uuids = [ProcessServices.newUUID()]
        _ = try application.run(CreateOnDomain(PlacementRequest(type: type, count: 1, parent: nil, group: nil, policy: nil), uuids: uuids,
                                               domain: vm))
        Console.out(uuids.map { $0.text + "\n" }.joined())
    }
}

struct CreatedVGPU: Encodable {
    let uuid: DeviceUUID
    let parent: String
    let gpu: String
    let type: String
    let reason: String
    let domain: String?
    let defined: Bool
}

/// What to place and where: shared by create and plan, which use the same placer.
struct PlacementOptions: ParsableArguments {
    @Option(help: "The vGPU type id, as 'vgpuctl types' lists it (e.g. nvidia-222, mdpy-vga).") var type: String
    @Option(help: "How many vGPUs.") var count = 1
    @Option(help: "Place only on this parent (mdev parent or VF address).") var parent: String?
    @Option(help: "Place only on GPUs of this group (from the config file).") var group: String?
    @Option(help: "Override the group's policy: pack (fill one GPU first) or spread (one per GPU in turn).") var policy: PlacementPolicy?

    func check() throws {
        _ = try Validation.typeName(type)
        if let parent { _ = try Validation.parentName(parent) }
        if let group { _ = try Validation.pathComponent(group, what: "group", fix: "use a group from the config file") }
        guard (1...4096).contains(count) else {
            throw VGPUError(.invalidInput, "--count \(count) is out of range", fix: "give a count from 1 to 4096")
        }
    }

    func request(numaNode: Int? = nil) -> PlacementRequest {
        PlacementRequest(type: type, count: count, parent: parent, group: group, policy: policy, numaNode: numaNode)
    }
}

extension PlacementPolicy: ExpressibleByArgument {}
extension VGPURequest.Lifetime: ExpressibleByArgument {}
