import VGPUCore
import VGPUHost

/// `vgpuctl gpus`: the host's GPUs with their IOMMU groups, SR-IOV state, vGPU layout and whether each can be
/// passed through whole. Read-only: no lock, nothing written.
extension HostContext {
    public func gpus() throws -> [GPUReport] {
        GPUReport.reports(try PCIDeviceReader(paths: paths, os: os).host())
    }
}
