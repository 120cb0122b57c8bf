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
        abstract: "Detach a vGPU from its domain (running domain first, then the definition); the vGPU is kept.",
        usage: "vgpuctl detach <uuid> [--detach-timeout <seconds>] [<options>]",
        discussion: "A live detach completes only when the guest answers the ACPI unplug request. If it has not after --detach-timeout seconds, nothing is changed and the command fails (exit 5).")

    @OptionGroup var host: HostOptions
    @OptionGroup var lock: LockOptions
    @OptionGroup var libvirt: LibvirtOptions
    @Argument(help: "The vGPU's UUID.") var uuid: String
    @Option(help: "The domain to detach it from (needed when several domains' definitions name the vGPU).") var vm: String?

    func validate() throws {
        _ = try DeviceUUID(parsing: uuid)
        if let vm { _ = try Validation.domainName(vm) }
    }

    func run() throws {
        try host.application(lock: lock, libvirt: libvirt).run(DetachVGPU(DeviceUUID(parsing: uuid), from: vm))
    }
}

struct DestroyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destroy", abstract: "Detach and remove every vGPU of a domain, and their definitions.",
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
        if outcome.removed.isEmpty && outcome.kept.isEmpty {
            return Console.out("domain \(vm) references no vGPU: nothing to destroy\n")
        }
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
