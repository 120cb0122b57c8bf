import ArgumentParser
import VGPUApp
import VGPUCore

struct PassthroughCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passthrough",
        abstract: "Hand a whole GPU (every function of its card) to a libvirt domain through vfio-pci.",
        usage: "vgpuctl passthrough <address> --vm <vm> [--config | --live] [--allow-boot-vga] [--dry-run] [--json] [<options>]",
        discussion: """
            ADDRESS is any function of the card (see 'vgpuctl gpus'); all functions of its slot go together (a \
            GPU and its HDMI-audio function). Before anything changes it refuses: the IOMMU is off (it names the \
            kernel parameter: intel_iommu=on, or AMD-Vi in the firmware); another device in an IOMMU group the \
            card touches is bound to a host driver (bridges driven by pcieport do not count: the kernel's rule); \
            the card is the boot VGA device (unless --allow-boot-vga); vGPUs exist on it or its SR-IOV VFs are \
            enabled; another domain's definition already names it, or vgpuctl passed it to another domain; \
            vfio-pci is not loaded. Then, as one journaled operation, each function's driver is recorded (in \
            /run/vgpuctl/passthrough/) and the function bound to vfio-pci (driver_override, unbind, \
            drivers_probe), and each is attached as <hostdev mode='subsystem' type='pci' managed='no'>: to the \
            definition and, if the domain runs, to the running domain (--config, --live: only that one). A failure \
            or an interruption is undone whole: every function goes back to its driver ('vgpuctl recover' after a \
            crash).
            Giving it back: 'vgpuctl detach ADDRESS' (the card), 'vgpuctl destroy --vm NAME' (everything of the \
            domain) and 'vgpuctl recover' return each function to the driver it had (driver_override cleared, \
            unbound from vfio-pci, drivers_probe), only when no process holds its VFIO group or device open. A \
            --live-only passthrough lasts for that run of the domain: the libvirt hook (vgpuctl install-hook) gives \
            it back at the domain's 'release end'.
            EXIT CODES: 0 passed through (with --dry-run: it would be); 2 bad input or the boot VGA device without \
            --allow-boot-vga; 3 no such PCI device or domain; 5 busy (a group member on a host driver, vGPUs or \
            VFs on it, another domain has it, a process holds it); 6 libvirt refused; 7 an interrupted operation \
            could not be recovered; 8 host error (IOMMU off, vfio-pci not loaded, a sysfs write failed).
            EXAMPLES:
              vgpuctl passthrough 0000:41:00.0 --vm web01 --dry-run   what would happen
              vgpuctl passthrough 0000:42:00.1 --vm web01   the card 42:00, display and audio
              vgpuctl detach 0000:42:00.0                   give it back
              vgpuctl list --passthrough                    what is passed through, to whom
            """)

    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var lock: LockOptions
    @OptionGroup var libvirt: LibvirtOptions
    @Argument(help: ArgumentHelp("Any function of the card, dddd:bb:ss.f (see 'vgpuctl gpus').", valueName: "address")) var address: String
    @Option(help: "The domain (name or UUID).") var vm: String
    @Flag(help: "Change only the persistent definition.") var config = false
    @Flag(help: "Change only the running domain (the device is given back when that run ends, by the hook).") var live = false
    @Flag(help: "Pass the boot VGA device through anyway (the host loses that console).") var allowBootVGA = false
    @Flag(help: "Change nothing, take no lock; print what would be done.") var dryRun = false

    func validate() throws {
        _ = try PCIAddress(parsing: address)
        _ = try Validation.domainName(vm)
    }

    func run() throws {
        let request = PassthroughRequest(address: address.lowercased(), domain: vm, allowBootVGA: allowBootVGA)
        let useCase = PassthroughGPU(request, config: config, live: live)
        let application = host.application(lock: lock, libvirt: libvirt, command: "vgpuctl passthrough \(address) --vm \(vm)")
        let outcome = dryRun ? try application.read(PreviewPassthrough(useCase)) : try application.run(useCase)
        if output.json { return Console.out(Self.json(outcome, dryRun: dryRun)) }
        let verb = dryRun ? "would pass" : "passed"
        for function in outcome.functions {
            Console.out("\(verb) \(function.address) through to domain \(outcome.domain) (\(outcome.scope.label); driver before: \(function.originalDriver ?? "none"))\n")
        }
        if dryRun { for step in outcome.plan.steps { Console.out("  would: \(step.summary)\n") } }
    }

    /// `--json`: {"domain", "dry_run", "scope", "functions": [{"address", "driver"?}], "steps": [text]}.
    static func json(_ outcome: PassthroughGPU.Outcome, dryRun: Bool) -> String {
        var writer = JSONWriter(.pretty)
        writer.beginObject()
        writer.key("domain"); writer.string(outcome.domain)
        writer.key("dry_run"); writer.bool(dryRun)
        writer.key("scope"); writer.string(outcome.scope.label)
        writer.key("functions")
        writer.beginArray()
        for function in outcome.functions {
            writer.element()
            writer.beginObject()
            writer.key("address"); writer.string(function.address)
            if let driver = function.originalDriver { writer.key("driver"); writer.string(driver) }
            writer.endObject()
        }
        writer.endArray()
        writer.key("steps")
        writer.beginArray()
        for step in outcome.plan.steps { writer.element(); writer.string(step.summary) }
        writer.endArray()
        writer.endObject()
        return String(decoding: writer.bytes, as: UTF8.self) + "\n"
    }
}
