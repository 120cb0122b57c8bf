import VGPUCore
import VGPUHost

/// `vgpuctl install-hook` / `uninstall-hook`: the link libvirt (6.5 and later) runs for every domain operation,
/// `/etc/libvirt/hooks/qemu.d/vgpuctl-hook`, to the running vgpuctl. Touches no vGPU, so it takes no host lock.
public struct HookLink: ProcedureUseCase {
    public static let name = "vgpuctl-hook"

    public enum Action: Sendable { case install, uninstall }
    public var action: Action

    public init(_ action: Action) { self.action = action }

    public enum Outcome: Equatable, Sendable {
        case installed(link: String, target: String)
        case alreadyInstalled(link: String, target: String)
        case removed(link: String)
        case notInstalled(link: String)
    }

    public func perform(with application: Application) throws -> Outcome {
        let environment = application.environment, os = environment.os
        let directory = Paths.join(environment.paths.root, "etc/libvirt/hooks/qemu.d")
        let link = Paths.join(directory, Self.name)
        switch action {
        case .install:
            let target = try os.readLink("/proc/self/exe")
            do {
                try os.makeDirectories(directory)
                if os.exists(link) {
                    guard (try? os.readLink(link)) == target else {
                        throw VGPUError(.busy, "\(link) exists and is not a link to \(target)", fix: "remove it, or run 'vgpuctl uninstall-hook' first")
                    }
                    return .alreadyInstalled(link: link, target: target)
                }
                try os.symlink(target, at: link)
            } catch let error as OSError {
                throw VGPUError(.host, "could not install the hook: \(error)", fix: "run as root")
            }
            return .installed(link: link, target: target)
        case .uninstall:
            guard os.exists(link) else { return .notInstalled(link: link) }
            guard let target = try? os.readLink(link), Paths.basename(target) == "vgpuctl" else {
                throw VGPUError(.busy, "\(link) is not a link to vgpuctl; left as it is", fix: "remove it by hand if it is yours to remove")
            }
            do { try os.unlink(link) } catch { throw VGPUError(.host, "could not remove \(link): \(error)", fix: "run as root") }
            return .removed(link: link)
        }
    }
}
