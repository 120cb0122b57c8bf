import ArgumentParser
import VGPUCore
import VGPUHost

struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a vGPU.")

    @OptionGroup var host: HostOptions
    @Argument(help: "The vGPU's UUID, as 'vgpuctl list' shows it.") var uuid: String

    func validate() throws { _ = try DeviceUUID(parsing: uuid) }

    func run() throws {
        let inventory = try host.inventory()
        let plan = try LifecyclePlanner.remove(try DeviceUUID(parsing: uuid), inventory: inventory)
        try Executor(runner: HostStepRunner(sysfs: SysfsWriter(paths: host.paths, os: host.os))).execute(plan)
    }
}
