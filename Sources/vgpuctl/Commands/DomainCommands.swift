import ArgumentParser
import VGPUCore
import VGPUApp

struct AttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach", abstract: "Attach an existing vGPU to a libvirt domain (definition, and running domain if it runs).",
        usage: "vgpuctl attach <uuid> --vm <vm> [--config | --live] [<options>]")

    @OptionGroup var host: HostOptions
    @OptionGroup var lock: LockOptions
    @OptionGroup var libvirt: LibvirtOptions
    @Argument(help: "The vGPU's UUID.") var uuid: String
    @Option(help: "The domain (name or UUID).") var vm: String
    @Flag(help: "Change only the persistent definition.") var config = false
    @Flag(help: "Change only the running domain.") var live = false
    @OptionGroup var hostdev: HostdevOptions

    func validate() throws {
        _ = try DeviceUUID(parsing: uuid)
        _ = try Validation.domainName(vm)
    }

    func run() throws {
        try host.application(lock: lock, libvirt: libvirt)
            .run(AttachVGPU(DeviceUUID(parsing: uuid), domain: vm, config: config, live: live, hostdev: hostdev.xml))
    }
}

struct DetachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detach",
        abstract: "Detach a vGPU from its domain (running domain first, then the definition); the vGPU is kept. Or give back a passed-through GPU.",
        usage: "vgpuctl detach <uuid> | <address> [--vm <vm>] [--detach-timeout <seconds>] [<options>]",
        discussion: """
            A live detach completes only when the guest answers the ACPI unplug request. If it has not after \
            --detach-timeout seconds, nothing is changed and the command fails (exit 5). With a PCI ADDRESS \
            (dddd:bb:ss.f) that 'vgpuctl passthrough' gave a domain, every function of that card is detached and \
            given back to the driver it had before (refused, exit 5, while a process holds it open); exit 3 when \
            vgpuctl did not pass it through. A card whose domain was undefined since is only given back.
            """)

    @OptionGroup var host: HostOptions
    @OptionGroup var lock: LockOptions
    @OptionGroup var libvirt: LibvirtOptions
    @Argument(help: ArgumentHelp("The vGPU's UUID, or the PCI address of a passed-through GPU.", valueName: "uuid-or-address")) var uuid: String
    @Option(help: "The domain to detach it from (needed when several domains' definitions name the vGPU).") var vm: String?

    /// A PCI address names a passed-through GPU; anything else must be a UUID.
    var address: String? { (try? PCIAddress(parsing: uuid)).map { _ in uuid.lowercased() } }

    func validate() throws {
        if address == nil { _ = try DeviceUUID(parsing: uuid) }
        if let vm { _ = try Validation.domainName(vm) }
    }

    func run() throws {
        let application = host.application(lock: lock, libvirt: libvirt)
        if let address {
            for record in try application.run(GiveBackGPU(address, from: vm)) {
                Console.out("gave \(record.address) back to \(record.driverText) (detached from domain \(record.domain))\n")
            }
            return
        }
        try application.run(DetachVGPU(DeviceUUID(parsing: uuid), from: vm))
    }
}

struct DestroyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destroy", abstract: "Detach and remove every vGPU of a domain, and their definitions; give back its passed-through GPUs.",
        usage: "vgpuctl destroy --vm <vm> [<options>]",
        discussion: """
            A vGPU that another domain's definition also names is only detached from this domain and kept (with \
            its definition) for the other one; the output says so. A domain that references no vGPU is left as it \
            is ("nothing to destroy", exit 0). If interrupted, the next vgpuctl command (or 'vgpuctl recover') \
            finishes it.
            """)

    @OptionGroup var host: HostOptions
    @OptionGroup var lock: LockOptions
    @OptionGroup var libvirt: LibvirtOptions
    @Option(help: "The domain (name or UUID).") var vm: String

    func validate() throws { _ = try Validation.domainName(vm) }

    func run() throws { try Self.run(host.application(lock: lock, libvirt: libvirt), vm: vm) }

    /// The command's work, shared with the fast path (FastPath.swift).
    static func run(_ application: Application, vm: String) throws {
        let outcome = try application.run(DestroyDomainVGPUs(domain: vm))
        if outcome.removed.isEmpty && outcome.kept.isEmpty && outcome.givenBack.isEmpty {
            return Console.out("domain \(vm) references no vGPU: nothing to destroy\n")
        }
        for record in outcome.givenBack { Console.out("gave \(record.address) back to \(record.driverText)\n") }
        for vgpu in outcome.removed { Console.out("removed \(vgpu.uuid)\n") }
        for vgpu in outcome.kept {
            let others = vgpu.domains.filter { $0 != vm }.joined(separator: ", ")
            Console.out("detached \(vgpu.uuid), kept: domain \(others) also names it\n")
        }
    }
}

struct XMLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xml", abstract: "Print the libvirt <hostdev> XML of a vGPU (from xml-templates/).",
        usage: "vgpuctl xml <uuid> [--nodedev] [<options>]")

    @OptionGroup var host: HostOptions
    @Argument(help: "The vGPU's UUID.") var uuid: String
    @OptionGroup var hostdev: HostdevOptions
    @Flag(help: "Print libvirt's node device XML instead.") var nodedev = false

    func validate() throws { _ = try DeviceUUID(parsing: uuid) }

    func run() throws {
        Console.out(try host.application().read(ReadDeviceXML(DeviceUUID(parsing: uuid), hostdev: hostdev.xml, nodedev: nodedev)))
    }
}
