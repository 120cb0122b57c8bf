import VGPUCore
import VGPUHost

/// `vgpuctl apply` and vgpud's layout keeper, whole: find the layout (the config's, or a label of NVIDIA
/// vgpu-device-manager's file), enable the VFs of the PFs it names that have none (`EnableLayoutVFs`), wait
/// (bounded) for the GPUs it names, then preview it (`dryRun`) or apply it. The finding and waiting take no lock;
/// only the VF enabling and `ApplyLayout` run in a session.
public struct ApplyDeclaredLayout: ProcedureUseCase {
    public enum Source: Sendable {
        /// `[[layouts.NAME.entries]]` in the config file; nil: its `layout = "NAME"`.
        case config(name: String?)
        /// A label of vgpu-device-manager's config file, read by vgpu-layout-import (`reader`: its path, nil: found as
        /// `ImportVGPUDeviceManagerLayout` finds it), placed under the host config.
        case vgpuDeviceManager(file: String, label: String?, reader: String? = nil)
    }

    public var source: Source
    public var dryRun: Bool
    /// Seconds to wait for the layout's GPUs to appear as vGPU parents; 0: no wait.
    public var gpuWait: Double
    public var progress: (@Sendable (String) -> Void)?
    /// Hears what the GPU wait waits for, and when it ends.
    public var waiting: ((String) -> Void)?

    public init(_ source: Source, dryRun: Bool = false, gpuWait: Double = 0, progress: (@Sendable (String) -> Void)? = nil,
                waiting: ((String) -> Void)? = nil) {
        self.source = source
        self.dryRun = dryRun
        self.gpuWait = gpuWait
        self.progress = progress
        self.waiting = waiting
    }

    public func perform(with application: Application) throws -> ApplyLayout.Outcome {
        let layout: DeclaredLayout, config: PlacementConfig
        switch source {
        case .config(let name):
            (layout, config) = try application.read(ReadLayout(name: name))
        case let .vgpuDeviceManager(file, label, reader):
            layout = try application.read(ImportVGPUDeviceManagerLayout(file: file, label: label, reader: reader))
            config = try application.read(ReadPlacementConfig())
        }
        let vfs = try application.read(PendingLayoutVFs(layout, config: config))
        if dryRun && !vfs.isEmpty {
            // Their vGPUs cannot be planned before the VFs exist: the dry run says what comes first.
            return ApplyLayout.Outcome(result: ApplyPlanner.Result(layout: layout.name, gpus: []), dryRun: true, recovered: [], vfsEnabled: vfs)
        }
        let enabled = vfs.isEmpty ? [] : try application.run(EnableLayoutVFs(layout, config: config))
        for enabling in enabled { waiting?("enabled \(enabling.count) VFs on \(enabling.pf) (sriov_numvfs)") }
        try application.read(WaitForLayoutGPUs(layout, seconds: gpuWait, say: waiting))
        var outcome = try dryRun ? application.read(PreviewLayout(layout, config: config))
                                 : application.run(ApplyLayout(layout, config: config, progress: progress))
        outcome.vfsEnabled = enabled
        return outcome
    }
}
