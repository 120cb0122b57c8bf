import ArgumentParser
import VGPUCore
import VGPUApp

/// How to reach libvirt.
struct LibvirtOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("libvirt URI (default: LIBVIRT_DEFAULT_URI, else qemu:///system).", valueName: "uri"))
    var connect: String?

    @Option(name: .long, help: ArgumentHelp("Seconds a live detach waits for the guest to release the device.", valueName: "seconds"))
    var detachTimeout: Double = Self.defaultDetachTimeout
    static let defaultDetachTimeout: Double = 30

    var settings: LibvirtSettings { LibvirtSettings(detachTimeout: detachTimeout) }
}

/// How the vGPU's <hostdev> looks (create --vm, attach, xml).
struct HostdevOptions: ParsableArguments {
    @Option(help: "The vGPU's display (on|off).") var display: OnOff?
    @Option(help: "A ramfb boot display (on|off).") var ramfb: OnOff?
    @Flag(help: ArgumentHelp("Let QEMU live-migrate the vGPU although its driver does not track dirty pages (a <qemu:override>; domain shut off)."))
    var migratable = false

    var isSet: Bool { display != nil || ramfb != nil || migratable }
    var xml: HostdevXML.Options { HostdevXML.Options(display: display?.value, ramfb: ramfb?.value, migratable: migratable) }
}

enum OnOff: String, ExpressibleByArgument, CaseIterable {
    case on, off
    var value: Bool { self == .on }
}
