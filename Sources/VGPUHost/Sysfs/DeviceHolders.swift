import VGPUCore

/// Which processes hold a vGPU's VFIO group open, from `/proc/<pid>/fd`. It answers "would `remove` block?"
/// when libvirt cannot (libvirtd down, or a QEMU started by hand): the kernel blocks the writer of `remove`
/// until every holder lets go.
public struct DeviceHolders: Sendable {
    public struct Holder: Equatable, Sendable {
        public var pid: Int
        public var command: String
        public init(pid: Int, command: String) {
            self.pid = pid
            self.command = command
        }
    }

    public let paths: HostPaths
    public let os: SystemCalls

    public init(paths: HostPaths, os: SystemCalls) {
        self.paths = paths
        self.os = os
    }

    public func holders(ofGroup group: Int) -> [Holder] {
        let device = "/dev/vfio/\(group)"
        var found: [Holder] = []
        for name in (try? os.list(paths.proc)) ?? [] {
            guard let pid = Int(name) else { continue }
            let fdDirectory = Paths.join(paths.proc, "\(name)/fd")
            // Processes that exit meanwhile, or that we may not inspect, are skipped.
            for fd in (try? os.list(fdDirectory)) ?? [] where (try? os.readLink(Paths.join(fdDirectory, fd))) == device {
                let command = (try? os.read(Paths.join(paths.proc, "\(name)/comm")))?.trimmingTrailingWhitespace ?? "?"
                found.append(Holder(pid: pid, command: command))
                break
            }
        }
        return found.sorted { $0.pid < $1.pid }
    }

    /// Refuses (exit 5) when a process holds the vGPU's group, naming it.
    public func refuseIfHeld(_ vgpu: VGPU) throws {
        guard let group = vgpu.iommuGroup, let holder = holders(ofGroup: group).first else { return }
        throw VGPUError(.busy, "vGPU \(vgpu.uuid) is in use: process \(holder.pid) (\(holder.command)) holds /dev/vfio/\(group)",
                        fix: "stop that process first (for a QEMU, shut its domain down); removing it now would block until it exits")
    }
}
