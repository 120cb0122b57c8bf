/// A declared vGPU layout: what each physical GPU of the host should offer (`vgpuctl apply NAME`). Read from the
/// config file's `[layouts.NAME]` tables, or from NVIDIA vgpu-device-manager's config file (one label), into the
/// same value, so one planner serves both. (`Layout` is another thing: how a parent exposes vGPUs.)
public struct DeclaredLayout: Equatable, Sendable {
    public var name: String
    public var entries: [Entry]

    public init(name: String, entries: [Entry]) {
        self.name = name
        self.entries = entries
    }

    /// Which physical GPUs an entry names.
    public enum Selector: Equatable, Sendable {
        /// Every physical GPU (that passes the entry's device filter).
        case all
        /// Physical GPU ids as `types` shows them: a PF's PCI address, or the parent's name for a non-SR-IOV parent.
        case gpus([String])
        /// Every GPU of a `[groups.NAME]` group.
        case group(String)
        /// vgpu-device-manager's `devices: [0, 2]`: indices into the host's NVIDIA GPUs (PFs, not VFs) in PCI address
        /// order, counted over all of them: the device filter does not renumber them, it is a further condition
        /// (vgpu-device-manager's `WalkSelectedVGPUConfigForEachGPU`).
        case indices([Int])
    }

    /// One vGPU type and how many instances of it each selected GPU should have.
    public struct TypeCount: Equatable, Sendable {
        /// A type ID as `types` shows it (`nvidia-1414`, `mtty-2`) or a type's name (`A100-4C`).
        public var type: String
        public var count: Int

        public init(type: String, count: Int) {
            self.type = type
            self.count = count
        }
    }

    public struct Entry: Equatable, Sendable {
        public var gpus: Selector
        /// vgpu-device-manager's `device-filter`: PCI IDs, device then vendor (`0x20b010de`), or with the subsystem's
        /// device and vendor after a colon (`0x20b010de:0x151f10de`), lowercase; a GPU passes if it matches any of
        /// them (all four IDs where a subsystem is given). Empty: no filter.
        public var deviceFilter: [String]
        /// In the order written.
        public var vgpus: [TypeCount]
        /// Where the entry was written (`FILE:LINE`), for messages that name it.
        public var origin: String

        public init(gpus: Selector, deviceFilter: [String] = [], vgpus: [TypeCount], origin: String) {
            self.gpus = gpus
            self.deviceFilter = deviceFilter
            self.vgpus = vgpus
            self.origin = origin
        }
    }
}

extension DeclaredLayout {
    /// The GPU ids its entries name one by one (`gpus = [...]`), in first-named order: what `apply --gpu-wait`
    /// waits for. "all", groups and indices name no particular GPU.
    public var namedGPUs: [String] {
        var seen: Set<String> = []
        return entries.flatMap { entry -> [String] in
            guard case .gpus(let ids) = entry.gpus else { return [] }
            return ids.filter { seen.insert($0).inserted }
        }
    }
}
