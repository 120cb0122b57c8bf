import ArgumentParser
import Foundation
import VGPUFixtures

/// Writes a fixture sysfs tree: the hosts the tests use, or a large one for benchmarks.
struct VGPUFixture: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vgpu-fixture",
        abstract: "Generate a sysfs tree that mirrors a vGPU host (for tests, demos and benchmarks).",
        usage: "vgpu-fixture <directory> [--host <host>] [<large host options>]",
        discussion: """
            EXAMPLES:
              vgpu-fixture /tmp/sys --host samples   Linux 6.12's mtty, mdpy and mbochs
              vgpu-fixture /tmp/sys --host pci-lab   the VM tier's lab machine (vgpuctl gpus)
              vgpu-fixture /tmp/sys --host large --gpus 8 --vfs 32 --types 24 --layout both
              vgpu-fixture simulate-migration                     the pre-copy policy benchmark (no tree)
              vgpu-fixture plan-reconcile                         the reconcile planner benchmark (no tree)
            """
    )

    enum Host: String, ExpressibleByArgument, CaseIterable { case samples, nvidiaMdev = "nvidia-mdev", nvidiaVFIO = "nvidia-vfio", pciLab = "pci-lab", large }

    @Argument(help: "Directory to create; it stands for /sys.") var directory: String
    @Option(help: "Which host: \(Host.allCases.map(\.rawValue).joined(separator: ", ")).") var host: Host = .large
    @Option(help: "Large host: physical GPUs.") var gpus = 8
    @Option(help: "Large host: VFs per GPU.") var vfs = 32
    @Option(help: "Large host: types per VF.") var types = 24
    @Option(help: "Large host: mdev, vfio or both.") var layout: String = "mdev"

    func validate() throws {
        guard FixtureLayout(rawValue: layout) != nil else { throw ValidationError("--layout must be mdev, vfio or both") }
        guard !FileManager.default.fileExists(atPath: directory) else { throw ValidationError("\(directory) exists already") }
    }

    func run() throws {
        switch host {
        case .samples: _ = try FixtureHosts.samples(at: directory)
        case .nvidiaMdev: _ = try FixtureHosts.nvidiaMdev(at: directory)
        case .nvidiaVFIO: _ = try FixtureHosts.nvidiaVFIO(at: directory)
        case .pciLab: _ = try FixtureHosts.pciLab(at: directory)
        case .large: _ = try FixtureHosts.large(at: directory, gpus: gpus, vfsPerGPU: vfs, types: types, layout: FixtureLayout(rawValue: layout)!)
        }
    }
}

// The tree generator takes a directory as its first argument, so the benchmarks are dispatched by hand.
switch CommandLine.arguments.dropFirst().first {
case "simulate-migration": SimulateMigration.main(Array(CommandLine.arguments.dropFirst(2)))
case "plan-reconcile": PlanReconcile.main(Array(CommandLine.arguments.dropFirst(2)))
default:
    VGPUFixture.main()
}
