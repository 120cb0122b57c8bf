import ArgumentParser
import VGPUApp
import VGPUCore

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Live-migrate a running domain and its vGPUs to another host.",
        discussion: """
            Before anything changes, the destination's libvirt must offer a free instance of each vGPU's type \
            (refused otherwise, exit 4: nothing is created anywhere and the domain keeps running). Each vGPU \
            keeps its UUID where it is free on the destination and gets a new one where it is taken; the \
            domain's XML for the destination (and with --persistent its persistent XML) names the new UUIDs, \
            keeping each hostdev's alias and any <qemu:override> of it.

            The destination provides the vGPUs through vgpuctl's libvirt hook ('vgpuctl install-hook' there, \
            then restart libvirtd once), from the types in the domain's vgpuctl metadata ('create --vm' and \
            'attach' record them). The hook also makes a plain 'virsh migrate' work, and releases what it \
            created if the incoming migration fails.

            While the pre-copy runs, vgpuctl polls libvirt's job statistics: it allows little downtime while \
            the data left shrinks, raises the allowance step by step (up to --max-downtime) once it stalls, and \
            aborts at --timeout or when even the cap cannot be met. Each decision is printed on stderr. Post-copy \
            is not used (VFIO devices refuse it). QEMU must be 8.0 or newer on both hosts, and a vGPU whose \
            driver does not track dirty pages itself needs 'create --vm ... --migratable'.

            On success the source's vGPUs and their definitions are released, and the destination defines its \
            vGPUs where the source had them defined. On failure the domain keeps running here with its vGPUs, \
            and libvirt's message is shown (exit 6).

            EXAMPLES:
              vgpuctl migrate --vm web01 --to qemu+ssh://gpu2/system
              vgpuctl migrate --vm web01 --to qemu+tcp://gpu2/system --persistent \\
                --max-downtime 500 --timeout 120 --json
            """)

    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var lock: LockOptions
    @OptionGroup var libvirt: LibvirtOptions
    @Option(help: ArgumentHelp("The running domain to move.", valueName: "name")) var vm: String
    @Option(help: ArgumentHelp("The destination's libvirt URI, e.g. qemu+ssh://host/system.", valueName: "uri")) var to: String
    @Option(help: ArgumentHelp("Where QEMU sends the stream (libvirt's migrate URI), e.g. tcp://10.0.0.2.", valueName: "uri"))
    var migrateURI: String?
    @Option(help: ArgumentHelp("The most downtime to allow, in ms.", valueName: "ms")) var maxDowntime: Double = 1000
    @Option(help: ArgumentHelp("Seconds before the migration is aborted.", valueName: "seconds")) var timeout: Double = 300
    @Flag(help: "Also define the domain on the destination (with the new UUIDs).") var persistent = false

    func validate() throws {
        guard maxDowntime > 0, maxDowntime.isFinite else {
            throw VGPUError(.invalidInput, "--max-downtime \(maxDowntime) is not a positive number of ms", fix: "give e.g. 500")
        }
        guard timeout > 0, timeout.isFinite else {
            throw VGPUError(.invalidInput, "--timeout \(timeout) is not a positive number of seconds", fix: "give e.g. 300")
        }
        guard to.contains("://") else {
            throw VGPUError(.invalidInput, "--to '\(Validation.printable(to))' is not a libvirt URI", fix: "give e.g. qemu+ssh://host/system")
        }
    }

    func run() throws {
        let options = LiveMigration.Options(destination: to, migrateURI: migrateURI, persistent: persistent,
                                            maxDowntimeMs: maxDowntime, timeout: timeout)
        let report = try host.application(lock: lock, libvirt: libvirt, command: "vgpuctl migrate --vm \(vm)")
            .perform(MigrateDomain(domain: vm, options: options, log: { Console.error("vgpuctl: \($0)\n") }))
        if output.json { return try JSONOutput.print(report) }
        var lines = report.devices.map { "vGPU \($0.sourceUUID) (\($0.type)) -> \($0.destinationUUID) on the destination" }
        lines += report.released.map { "released here: \($0)" }
        let downtime = report.downtimeMs.map { "\($0) ms" } ?? "unknown"
        lines.append("migrated domain \(report.domain) to \(report.destination): downtime \(downtime), total \(report.totalMs) ms")
        Console.out(lines.joined(separator: "\n") + "\n")
    }
}
