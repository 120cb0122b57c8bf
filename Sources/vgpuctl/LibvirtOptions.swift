import ArgumentParser
import VGPUCore
import VGPUHost

/// How to reach libvirt.
struct LibvirtOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("libvirt URI (default: LIBVIRT_DEFAULT_URI, else qemu:///system).", valueName: "uri"))
    var connect: String?

    @Option(name: .long, help: ArgumentHelp("Seconds a live detach waits for the guest to release the device.", valueName: "seconds"))
    var detachTimeout: Double = 30

    func open() throws -> LibvirtConnection { try LibvirtConnection(uri: connect) }
}

/// How the vGPU's <hostdev> looks (create --vm, attach, xml).
struct HostdevOptions: ParsableArguments {
    @Option(help: "The vGPU's display (on|off).") var display: OnOff?
    @Option(help: "A ramfb boot display (on|off).") var ramfb: OnOff?

    var isSet: Bool { display != nil || ramfb != nil }
    var xml: HostdevXML.Options { HostdevXML.Options(display: display?.value, ramfb: ramfb?.value) }
}

enum OnOff: String, ExpressibleByArgument, CaseIterable {
    case on, off
    var value: Bool { self == .on }
}

extension HostOptions {
    /// The executor wired to this host's sysfs and, when given, libvirt.
    func executor(_ hypervisor: Hypervisor? = nil, detachTimeout: Double = 30) -> Executor {
        Executor(runner: HostStepRunner(sysfs: SysfsWriter(paths: paths, os: os), hypervisor: hypervisor, detachTimeout: detachTimeout))
    }

    /// The inventory with domains filled in, refusing to go on without libvirt (state-changing commands must
    /// know which domains hold which vGPU before they touch anything).
    func inventory(with hypervisor: Hypervisor) throws -> Inventory {
        try hypervisor.annotate(inventory())
    }
}
