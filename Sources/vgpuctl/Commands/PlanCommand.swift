import ArgumentParser
import VGPUApp
import VGPUCore

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show where vGPUs would land, and why, without changing anything.",
        usage: "vgpuctl plan --type <type> [--count <n>] [--group <g>] [<options>]",
        discussion: """
            Uses the same placer as 'create': GPU groups, policies, reserved types and per-GPU homogeneity from \
            /etc/vgpuctl/vgpuctl.conf (see README.md). The unit of placement is the physical GPU: the VFs of one \
            SR-IOV GPU count as one. With --vm, GPUs on the NUMA node the domain is pinned to are preferred while \
            they have room, as 'create --vm' does, and each reason says whether that node decided. Refuses (non-zero exit, with reasons) when the vGPUs would not all fit. \
            Read-only: never waits for the host lock.

            EXAMPLES:
              vgpuctl plan --type nvidia-1414 --count 8 --policy spread
              vgpuctl plan --type mdpy-vga --count 2 --group lab --json
              vgpuctl plan --type nvidia-1428 --vm web01
            """)

    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var placement: PlacementOptions
    @Option(help: "Place for this libvirt domain: prefer the NUMA node it is pinned to (asks libvirt).") var vm: String?

    func validate() throws {
        try placement.check()
        if let vm { _ = try Validation.domainName(vm) }
    }

    func run() throws {
        let placements = try host.application().read(PreviewPlacement(placement.request(), domain: vm))
        if output.json { return try JSONOutput.print(placements) }
        var table = Table("#", "PARENT", "GPU", "WHY")
        for (index, chosen) in placements.enumerated() {
            table.add(String(index + 1), chosen.parent, chosen.gpu, chosen.reason)
        }
        Console.out(table.render() + "\n")
    }
}
