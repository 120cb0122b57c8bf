import VGPUCore
import VGPUHost

/// `vgpuctl gpus`: the host's GPUs with their IOMMU groups, SR-IOV state, vGPU layout and whether each can be
/// passed through whole. Read-only: no lock, nothing written.
public struct ReadGPUs: ReadUseCase {
    public init() {}

    public func read(in environment: Environment) throws -> [GPUReport] {
        GPUReport.reports(try PCIDeviceReader(paths: environment.paths, os: environment.os).host())
    }
}
