import ArgumentParser
import VGPUApp
import VGPUCore

struct VGPUCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vgpuctl",
        abstract: "Manage mediated-device vGPUs (NVIDIA vGPU, Intel GVT-g, any mdev driver) on KVM/libvirt hosts.",
        // `--version` itself is answered in main.swift (`--version --verbose` adds the libvirt library's version).
        discussion: """
            vgpuctl reads both vGPU layouts a host can have: mdev parents under /sys/class/mdev_bus and NVIDIA's \
            vendor-specific VFIO VFs (/sys/bus/pci/devices/<VF>/nvidia). Both look the same here: a type id \
            (e.g. nvidia-222, mdpy-vga) on a parent.

            EXAMPLES:
              vgpuctl types                       every type, its parent, free instances
              vgpuctl create --type mdpy-vga      create one where there is room
              vgpuctl list --json                 the vGPUs that exist, as JSON
              vgpuctl remove 0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50
              vgpuctl create --type nvidia-22 --vm web01
                                                  place, create, attach: one transaction
              vgpuctl destroy --vm web01          detach and remove web01's vGPUs
              vgpuctl plan --type mdpy-vga --count 4 --policy spread
                                                  where 4 would land; changes nothing
              vgpuctl create --type mtty-2 --persist
                                                  create and define: back after reboot
              vgpuctl apply --dry-run             what the config's layout would change
              vgpuctl modify UUID --addattr nvidia/vgpu_params \\
                --value enable_uvm=1              an attribute written at every start
              vgpuctl migrate --vm web01 --to qemu+ssh://gpu2/system
                                                  live-migrate web01 and its vGPUs
              vgpuctl --version --verbose         the version, and libvirt's (loads it)

            CONCURRENCY AND CRASHES:
            State-changing commands take one host lock (/run/vgpuctl/lock; --wait SECONDS, default 60) and \
            journal multi-step operations (/var/lib/vgpuctl/journal). After a crash the next such command, or \
            'vgpuctl recover', undoes an interrupted create and finishes an interrupted destroy.

            ENVIRONMENT:
              VGPUCTL_SYSFS_ROOT     the directory that stands for /sys (--sysfs-root)
              VGPUCTL_ROOT           the directory that stands for / (--root)
              LIBVIRT_DEFAULT_URI    the libvirt URI (--connect; default qemu:///system)
              VGPUCTL_TEMPLATES_DIR  the directory holding the XML templates
              VGPUCTL_CONFIG         the placement config file
                                     (default <root>/etc/vgpuctl/vgpuctl.conf)

            \(VGPUError.exitCodeHelp)
            """,
        version: "vgpuctl \(VGPUVersion.string)",
        subcommands: [TypesCommand.self, ListCommand.self, GPUsCommand.self, PlanCommand.self, CreateCommand.self, RemoveCommand.self, ApplyCommand.self,
                      DefineCommand.self, UndefineCommand.self, ModifyCommand.self, StartCommand.self, StopCommand.self,
                      AttachCommand.self, DetachCommand.self, PassthroughCommand.self, DestroyCommand.self, XMLCommand.self, NodedevsCommand.self, RecoverCommand.self,
                      ReconcileCommand.self, InstallHookCommand.self, UninstallHookCommand.self, MigrationCommand.self, MigrateCommand.self, HookCommand.self]
    )
}
