import VGPUCore
import VGPUHost

/// `vgpuctl apply` and vgpud's layout keeper, whole: find the layout (the config's, or a label of NVIDIA
/// vgpu-device-manager's file), wait (bounded) for the GPUs it names, then preview it (`dryRun`) or apply it. The
/// finding and waiting take no lock; only `ApplyLayout` runs in a session.
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
        try application.read(WaitForLayoutGPUs(layout, seconds: gpuWait, say: waiting))
        return try dryRun ? application.read(PreviewLayout(layout, config: config))
                          : application.run(ApplyLayout(layout, config: config, progress: progress))
    }
}
