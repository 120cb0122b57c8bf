import ArgumentParser
import VGPUApp
import VGPUCore

struct GPUsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpus",
        abstract: "List the host's GPUs and whether each can be passed through whole.",
        usage: "vgpuctl gpus [--json] [<options>]",
        discussion: """
            A GPU is every display-class PCI function (class 0x03xx) that is not an SR-IOV VF, and every SR-IOV PF \
            whose VFs carry NVIDIA's vendor-specific VFIO layout (nvidia/creatable_vgpu_types). For each: its \
            address, vendor:device ID, class, driver, NUMA node, IOMMU group and every member of it (bridges \
            marked), the other functions of its card, SR-IOV VFs (enabled/total), the vGPU layout it offers \
            (mdev, nvidia-vfio or none), its vGPUs, whether it is the boot VGA device, and whether the card can \
            go to a guest whole through vfio-pci. When it cannot, each reason is named with its fix: the IOMMU \
            is off (the kernel parameter to add), another endpoint in its IOMMU group is bound to a host driver \
            (bridges do not count, as in the kernel's rule; the card's own functions go with it), it is the boot \
            VGA device, vGPUs exist on it, or its SR-IOV VFs are enabled. Changes nothing and takes no lock.

            Exit codes: 0 the list was printed (also when no GPU can be passed through); 2 a bad option; \
            8 sysfs could not be read. See 'vgpuctl --help' for every code.
            """)

    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let reports = try host.application().read(ReadGPUs())
        if output.json { return Console.out(GPUReportOutput.json(reports)) }
        Console.out(GPUReportOutput.text(reports))
    }
}
