import ArgumentParser
import VGPUApp
import VGPUCore

struct ApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Make the host's vGPUs match a declared layout ([[layouts.NAME.entries]] in the config file).",
        discussion: """
            For each GPU the layout names, vGPUs of the wanted types are kept (same type, same GPU: same UUID), \
            what is missing is created and defined (start auto, so a reboot brings the layout back), and what is \
            surplus is removed with its definition. A surplus vGPU a domain uses or names in its definition, or a \
            process holds, is never taken: the whole layout is refused, naming each. GPUs the layout does not name \
            are left alone. The work is one journaled operation (a crash is undone by the next command or \
            'vgpuctl recover'), run on up to 8 GPUs at once, each GPU's steps in order; a line per GPU goes to \
            standard error as it completes. Running it twice changes nothing the second time.

            NAME defaults to the config file's layout = "NAME". With --from-vgpu-device-manager FILE, the layout is \
            read from NVIDIA vgpu-device-manager's config file instead (version: v1, vgpu-configs: LABEL: entries \
            with devices, device-filter and vgpu-devices) and NAME is the LABEL; the file is read by \
            /usr/libexec/vgpuctl/vgpu-layout-import (VGPUCTL_LAYOUT_IMPORT overrides the path), given 60 s.

            Before planning, apply enables the SR-IOV VFs of every PF the layout names by PCI address that has none \
            (NVIDIA's vendor-specific VFIO): [gpus."PF"] sriov_numvfs from the config, else every VF the PF supports. \
            It then waits up to --gpu-wait seconds (default 10) for every GPU the layout names by id to appear as a \
            vGPU parent (a driver still loading, VFs still being bound), saying on standard error what it waits for; \
            a GPU still missing then exits 3, naming it. With --dry-run it enables nothing: it says which VFs it \
            would enable and exits 2, and plans their vGPUs once they exist.

            EXIT CODES (besides those below): 0 when the host matches the layout (already, or after the apply); \
            with --dry-run, 0 when the host already matches and 2 when apply would act. A refused layout changes \
            nothing and exits 2 (a GPU named twice, mixed types on a GPU that runs one type at a time, a type the \
            GPU does not offer or an ambiguous name, a reserved GPU, a mistake in the vgpu-device-manager file: \
            its line, a sriov_numvfs the PF cannot give), 3 (an unknown layout, label, GPU, group or type, a GPU \
            still missing after --gpu-wait), 5 (a \
            domain or process uses a vGPU the layout would remove) or 4 (more than a GPU can hold); 8 when the \
            vgpu-device-manager reader is missing or times out.

            EXAMPLES:
              vgpuctl apply --dry-run          the plan for the config's layout; exit 2 if it would act
              vgpuctl apply lab --json         apply layout 'lab'; what was kept, created, removed
              vgpuctl apply --from-vgpu-device-manager dm.yaml small
                                               apply label 'small' of vgpu-device-manager's file
            """)

    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var lock: LockOptions
    @OptionGroup var libvirt: LibvirtOptions
    @Flag(help: "Change nothing; print the plan and exit 2 if anything would be done.") var dryRun = false
    @Option(help: ArgumentHelp("Seconds to wait for the GPUs the layout names by id to appear as vGPU parents (a driver loading, VFs being enabled); 0: no wait.", valueName: "seconds"))
    var gpuWait: Double = 10
    @Option(name: .customLong("from-vgpu-device-manager"),
            help: ArgumentHelp("Read the layout from NVIDIA vgpu-device-manager's config file (version: v1); NAME is then its label.", valueName: "file"))
    var vgpuDeviceManagerFile: String?
    @Argument(help: ArgumentHelp("The layout ([[layouts.NAME.entries]] in the config file); default: the config's layout = \"NAME\". With --from-vgpu-device-manager: the label under vgpu-configs.", valueName: "name"))
    var name: String?

    func validate() throws {
        guard gpuWait >= 0, gpuWait.isFinite else {
            throw VGPUError(.invalidInput, "--gpu-wait \(gpuWait) is not a number of seconds", fix: "give 0 (no wait) or more")
        }
        if let name {
            guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }) else {
                throw VGPUError(.invalidInput, "layout name '\(Validation.printable(name))' is empty or has control characters",
                                fix: "give the NAME of a [layouts.NAME] table")
            }
        }
    }

    func run() throws {
        let json = output.json
        var command = "vgpuctl apply"
        if let name { command += " " + name }
        var progress: (@Sendable (String) -> Void)?
        if !json && !dryRun { progress = { @Sendable line in Console.error("vgpuctl: apply: " + line + "\n") } }
        let waiting: (String) -> Void = { Console.error("vgpuctl: apply: " + $0 + "\n") }
        let source: ApplyDeclaredLayout.Source = vgpuDeviceManagerFile.map { .vgpuDeviceManager(file: $0, label: name) } ?? .config(name: name)
        let outcome = try host.application(lock: lock, libvirt: libvirt, command: command)
            .perform(ApplyDeclaredLayout(source, dryRun: dryRun, gpuWait: gpuWait, progress: progress, waiting: waiting))
        if json { try JSONOutput.print(ApplyJSON(outcome)) } else { Console.out(Self.text(outcome)) }
        if dryRun && outcome.acts { throw ExitCode(2) }
    }

    static func text(_ outcome: ApplyLayout.Outcome) -> String {
        let result = outcome.result
        guard outcome.acts else { return "layout \(result.layout): nothing to do (\(result.gpus.count) GPU(s) match)\n" }
        let verb = outcome.dryRun ? "would" : "did"
        var lines = outcome.vfsEnabled.map { "PF \($0.pf): \(verb): enable \($0.count) VFs (sriov_numvfs)" }
        if outcome.dryRun && !outcome.vfsEnabled.isEmpty {
            lines.append("layout \(result.layout): its vGPUs are planned once the VFs exist (run apply)")
        }
        for change in result.gpus {
            guard change.acts else { lines.append("GPU \(change.gpu): matches (\(change.kept.count) kept)"); continue }
            lines.append("GPU \(change.gpu): \(change.created.count) to create, \(change.removed.count) to remove, \(change.kept.count) kept")
            for step in change.steps { lines.append("  \(verb): \(step.summary)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// `apply --json`: {"layout", "dry_run", "changed", "vfs_enabled": [{"pf", "count"}], "gpus": [{"gpu", "kept":
/// [uuid], "created": [{"uuid", "parent", "type"}], "removed": [{"uuid", "parent", "type"}], "defined": [uuid],
/// "steps": [text]}], "recovered"}. `changed`: whether the host was (with --dry-run: would be) changed.
struct ApplyJSON: Encodable {
    struct Device: Encodable {
        let uuid: String
        let parent: String
        let type: String
    }
    struct GPU: Encodable {
        let gpu: String
        let kept: [String]
        let created: [Device]
        let removed: [Device]
        let defined: [String]
        let steps: [String]
    }
    struct VFs: Encodable {
        let pf: String
        let count: Int
    }
    let layout: String
    let dryRun: Bool
    let changed: Bool
    let vfsEnabled: [VFs]
    let gpus: [GPU]
    let recovered: [String]

    init(_ outcome: ApplyLayout.Outcome) {
        layout = outcome.result.layout
        dryRun = outcome.dryRun
        changed = outcome.acts
        vfsEnabled = outcome.vfsEnabled.map { VFs(pf: $0.pf, count: $0.count) }
        gpus = outcome.result.gpus.map { change in
            GPU(gpu: change.gpu, kept: change.kept.map(\.uuid.text),
                created: change.created.map { Device(uuid: $0.uuid.text, parent: $0.parent, type: $0.type) },
                removed: change.removed.map { Device(uuid: $0.uuid.text, parent: $0.parent, type: $0.type) },
                defined: change.defined.map(\.uuid.text), steps: change.steps.map(\.summary))
        }
        recovered = outcome.recovered
    }

    enum CodingKeys: String, CodingKey { case layout, dryRun = "dry_run", changed, vfsEnabled = "vfs_enabled", gpus, recovered }
}
