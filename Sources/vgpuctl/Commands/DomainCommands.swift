import ArgumentParser
import VGPUCore
import VGPUHost

struct AttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach", abstract: "Attach an existing vGPU to a libvirt domain (definition, and running domain if it runs).")

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
        let session = try HostSession(host: host, lock: lock, libvirt: libvirt)
        let vgpu = try LifecyclePlanner.existing(DeviceUUID(parsing: uuid), in: session.inventory(domains: true))
        let domain = try session.libvirt().domain(vm)
        let scope = try DomainPlanner.scope(config: config, live: live, domain: domain.name, isActive: domain.isActive)
        let xml = try TemplateStore.load().hostdev(for: vgpu, options: hostdev.xml)
        try session.execute(DomainPlanner.attach(vgpu, domain: domain.name, scope: scope, xml: xml))
    }
}

struct DetachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detach",
        abstract: "Detach a vGPU from its domain (running domain first, then the definition); the vGPU is kept.",
        discussion: "A live detach completes only when the guest answers the ACPI unplug request. If it has not after --detach-timeout seconds, nothing is changed and the command fails (exit 5).")

    @OptionGroup var host: HostOptions
    @OptionGroup var lock: LockOptions
    @OptionGroup var libvirt: LibvirtOptions
    @Argument(help: "The vGPU's UUID.") var uuid: String

    func validate() throws { _ = try DeviceUUID(parsing: uuid) }

    func run() throws {
        let session = try HostSession(host: host, lock: lock, libvirt: libvirt)
        let vgpu = try LifecyclePlanner.existing(DeviceUUID(parsing: uuid), in: session.inventory(domains: true))
        let isActive = try vgpu.domain.map { try session.libvirt().domain($0).isActive } ?? false
        let xml = try TemplateStore.load().hostdev(for: vgpu)
        try session.execute(DomainPlanner.detach(vgpu, isActive: isActive, xml: xml))
    }
}

struct DestroyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destroy", abstract: "Detach and remove every vGPU of a domain, and their definitions.",
        discussion: "If interrupted, the next vgpuctl command (or 'vgpuctl recover') finishes it.")

    @OptionGroup var host: HostOptions
    @OptionGroup var lock: LockOptions
    @OptionGroup var libvirt: LibvirtOptions
    @Option(help: "The domain (name or UUID).") var vm: String

    func validate() throws { _ = try Validation.domainName(vm) }

    func run() throws {
        let session = try HostSession(host: host, lock: lock, libvirt: libvirt)
        let inventory = try session.inventory(domains: true)
        let domain = try session.libvirt().domain(vm)
        let templates = try TemplateStore.load()
        let plan = try DomainPlanner.destroy(domain: domain.name, isActive: domain.isActive, inventory: inventory) {
            try templates.hostdev(for: $0)
        }
        try session.execute(plan)
    }
}

struct XMLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xml", abstract: "Print the libvirt <hostdev> XML of a vGPU (from xml-templates/).")

    @OptionGroup var host: HostOptions
    @Argument(help: "The vGPU's UUID.") var uuid: String
    @OptionGroup var hostdev: HostdevOptions
    @Flag(help: "Print libvirt's node device XML instead.") var nodedev = false

    func validate() throws { _ = try DeviceUUID(parsing: uuid) }

    func run() throws {
        let vgpu = try LifecyclePlanner.existing(DeviceUUID(parsing: uuid), in: host.inventory())
        let templates = try TemplateStore.load()
        Console.out(try nodedev ? templates.nodedev(for: vgpu) : templates.hostdev(for: vgpu, options: hostdev.xml))
    }
}
