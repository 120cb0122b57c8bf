import ArgumentParser
import VGPUApp
import VGPUCore

struct MigrationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migration", abstract: "Inspect a vGPU's VFIO live-migration support.",
        discussion: """
            'probe' opens an unused vGPU's VFIO device (as QEMU would), reports the migration flags its driver \
            implements (STOP_COPY, P2P, PRE_COPY) and, for PRE_COPY, the initial and dirty bytes a pre-copy \
            starts with; it then returns the device to RUNNING. A vGPU a process holds open is refused (exit 5).

            DIAGNOSTIC: 'vgpuctl migration selftest SRC DST [--mtty-marker BYTE] [--truncate N]' moves SRC's \
            device state into DST on this host the way a migration does (SRC: RUNNING -> PRE_COPY -> STOP_COPY, \
            reading the stream; DST: RUNNING -> RESUMING, writing it, -> STOP, where the driver loads and checks \
            it, -> RUNNING; SRC back to RUNNING). Both must be unused and of the same type. It overwrites DST's \
            device state: use it on test vGPUs only.
            """,
        subcommands: [MigrationProbeCommand.self, MigrationSelftestCommand.self])
}

struct MigrationProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe", abstract: "Report a vGPU's VFIO migration flags and its pre-copy sizes.")

    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The vGPU's UUID, as 'vgpuctl list' shows it.") var uuid: String

    func validate() throws { _ = try DeviceUUID(parsing: uuid) }

    func run() throws {
        let report = try host.application().read(ProbeMigration(DeviceUUID(parsing: uuid)))
        if output.json { return try JSONOutput.print(report) }
        var lines = ["vGPU \(report.uuid) (IOMMU group \(report.iommuGroup))"]
        lines.append("  migration flags: \(report.flags.isEmpty ? "none (its driver does not implement VFIO migration)" : report.flags.joined(separator: "|"))")
        if let state = report.state { lines.append("  state: \(state)") }
        if let length = report.stopCopyLength { lines.append("  stop-copy length: \(length) bytes") }
        if let precopy = report.precopy {
            lines.append("  pre-copy (RUNNING -> \(precopy.path.joined(separator: " -> "))): initial_bytes \(precopy.initialBytes), dirty_bytes \(precopy.dirtyBytes); back to RUNNING")
        }
        Console.out(lines.joined(separator: "\n") + "\n")
    }
}

struct MigrationSelftestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selftest", abstract: "Diagnostic: move one vGPU's device state into another on this host.",
        shouldDisplay: false)

    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The source vGPU.") var source: String
    @Argument(help: "The destination vGPU (its device state is overwritten).") var destination: String
    @Option(help: ArgumentHelp("Drop this many bytes from the stream's end (shows that the destination refuses it).", valueName: "bytes"))
    var truncate = 0
    @Option(help: ArgumentHelp("mtty only: write this byte (0-255) into the source's UART scratch register first and check that the destination reads it back.", valueName: "byte"))
    var mttyMarker: UInt8?

    func validate() throws {
        let (from, to) = (try DeviceUUID(parsing: source), try DeviceUUID(parsing: destination))
        guard from != to else { throw VGPUError(.invalidInput, "source and destination are both \(from)", fix: "give two different vGPUs") }
        guard truncate >= 0 else { throw VGPUError(.invalidInput, "--truncate \(truncate) is negative", fix: "give 0 or more bytes") }
    }

    func run() throws {
        let (from, to) = (try DeviceUUID(parsing: source), try DeviceUUID(parsing: destination))
        let report = try host.application().read(MigrationSelftest(from: from, to: to, truncate: truncate, mttyMarker: mttyMarker))
        if output.json { return try JSONOutput.print(report) }
        Console.out("""
            source \(report.source): RUNNING -> \(report.sourceStates.joined(separator: " -> "))
              pre-copy: \(report.precopyBytes) bytes (initial_bytes \(report.precopyInitialBytes.map(String.init) ?? "-")), stop-copy: \(report.stopCopyBytes) bytes, stream head \(report.streamHead)
            destination \(report.destination): RUNNING -> \(report.destinationStates.joined(separator: " -> ")) (stream accepted)\(report.marker.map { "\n  mtty scratch register: \($0.written) written on the source; destination read \($0.destinationBefore) before, \($0.destinationAfter) after" } ?? "")

            """)
    }
}
