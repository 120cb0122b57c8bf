import VGPUCore
import VGPUHost

/// `vgpuctl --version --verbose`: the libvirt library's version and file name (this loads libvirt).
public struct ReadLibvirtVersion: ReadUseCase {
    public init() {}

    public func read(in environment: Environment) throws -> (version: String, library: String) {
        (try LibvirtAPI.load().libraryVersion(), LibvirtAPI.library)
    }
}
