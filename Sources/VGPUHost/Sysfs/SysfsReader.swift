import Dispatch
import VGPUCore

/// Reads both vGPU layouts from sysfs into an `Inventory`. Parents are read concurrently: a large host has
/// thousands of small attribute files, and reading them in parallel is what beats a serial reader.
public struct SysfsReader: Sendable {
    public let paths: HostPaths
    public let os: SystemCalls
    /// Names vendor-specific VFIO vGPUs (a VF has no UUID of its own); see `VFRecords`.
    public let vfRecords: VFRecords

    public init(paths: HostPaths, os: SystemCalls = LiveSystemCalls()) {
        self.paths = paths
        self.os = os
        self.vfRecords = VFRecords(paths: paths, os: os)
    }

    /// The host, or the part of it `scope` names: the parents of its GPUs (found from the GPU ids, as
    /// `GPUPresence` finds them, without listing every device) and of their types only the ones it names.
    public func inventory(scope: InventoryScope = .whole) throws -> Inventory {
        guard os.isDirectory(paths.sysfs) else {
            throw VGPUError(.host, "sysfs root \(paths.sysfs) is not a directory",
                            fix: "mount sysfs at /sys, or point --sysfs-root / VGPUCTL_SYSFS_ROOT at a sysfs tree")
        }
        let (mdevParentNames, vfNames) = scope.gpus.map { parentNames(ofGPUs: $0.sorted()) } ?? allParentNames()
        let jobs = mdevParentNames.map { Job.mdevParent($0) } + vfNames.map { Job.vf($0) }
        var results = [(parent: Parent, vgpu: VGPU?)?](repeating: nil, count: jobs.count)
        results.withUnsafeMutableBufferPointer { buffer in
            let slots = UnsafeSendableBuffer(buffer)
            DispatchQueue.concurrentPerform(iterations: jobs.count) { index in
                switch jobs[index] {
                case .mdevParent(let name): slots[index] = readMdevParent(name, scope: scope).map { ($0, nil) }
                case .vf(let address): slots[index] = readVF(address, scope: scope)
                }
            }
        }
        let parents = results.compactMap { $0?.parent }
        let vfVGPUs = results.compactMap { $0?.vgpu }
        let mdevVGPUs = readMdevDevices(onParents: scope.gpus == nil ? nil : Set(mdevParentNames))
        return Inventory(parents: parents, vgpus: mdevVGPUs + vfVGPUs)
    }

    private enum Job { case mdevParent(String), vf(String) }

    /// Every mdev parent, and every PCI device that is an NVIDIA vendor-specific VFIO VF.
    private func allParentNames() -> (mdev: [String], vfs: [String]) {
        let vfNames = ((try? os.list(paths.pciDevices)) ?? []).filter {
            os.exists(Paths.join(paths.pciDevices, "\($0)/nvidia/creatable_vgpu_types"))
        }
        return ((try? os.list(paths.mdevBus)) ?? [], vfNames)
    }

    /// The parents whose physical GPU is one of `gpus`: the GPU itself where it is an mdev parent, and its SR-IOV
    /// VFs (`virtfn*` links) that are mdev parents or vendor-specific VFIO VFs. The same parents the whole read
    /// gives those GPUs, since a VF's GPU is its `physfn`, the PF whose `virtfn*` names it.
    private func parentNames(ofGPUs gpus: [String]) -> (mdev: [String], vfs: [String]) {
        var mdev: [String] = [], vfs: [String] = [], seen: Set<String> = []
        func add(_ name: String) {
            guard seen.insert(name).inserted else { return }
            if os.exists(Paths.join(paths.mdevBus, name)) { mdev.append(name) }
            if os.exists(Paths.join(paths.pciDevices, "\(name)/nvidia/creatable_vgpu_types")) { vfs.append(name) }
        }
        for gpu in gpus {
            add(gpu)
            let pf = Paths.join(paths.pciDevices, gpu)
            for name in (try? os.list(pf)) ?? [] where name.hasPrefix("virtfn") {
                if let target = try? os.readLink(Paths.join(pf, name)) { add(Paths.basename(target)) }
            }
        }
        return (mdev, vfs)
    }

    // MARK: mdev

    private func readMdevParent(_ name: String, scope: InventoryScope) -> Parent? {
        let directory = Paths.join(paths.mdevBus, name)
        let typesDirectory = Paths.join(directory, "mdev_supported_types")
        guard let typeIDs = try? os.list(typesDirectory) else { return nil }
        // Requested types that are not an id here may be a type's name: only then are other types' names read.
        let byName = scope.types.map { $0.subtracting(typeIDs) } ?? []
        let types = typeIDs.sorted().compactMap { id -> VGPUType? in
            let typeDirectory = Paths.join(typesDirectory, id)
            let name: String?
            if scope.wants(typeID: id) {
                name = attribute(typeDirectory, "name")
            } else {
                guard !byName.isEmpty else { return nil }
                name = attribute(typeDirectory, "name")
                guard InventoryScope.named(name, isOneOf: byName) else { return nil }
            }
            return VGPUType(id: id, name: name,
                            description: attribute(typeDirectory, "description"),
                            deviceAPI: attribute(typeDirectory, "device_api"),
                            availableInstances: attribute(typeDirectory, "available_instances").flatMap { Int($0) } ?? 0)
        }
        let pciInfo = pciIdentity(directory)
        return Parent(name: name, layout: .mdev, gpu: pciInfo.gpu ?? name, vendor: pciInfo.vendor,
                      numaNode: pciInfo.numaNode, types: types)
    }

    /// The mdev devices; `parents` non-nil: only those on these parents.
    private func readMdevDevices(onParents parents: Set<String>?) -> [VGPU] {
        let names = ((try? os.list(paths.mdevDevices)) ?? []).filter(DeviceUUID.looksLikeUUID)
        return names.compactMap { name in
            let link = Paths.join(paths.mdevDevices, name)
            guard let uuid = try? DeviceUUID(parsing: name),
                  let target = try? os.readLink(link) else { return nil }
            let deviceDirectory = Paths.resolve(target, from: paths.mdevDevices)
            let parent = Paths.basename(Paths.dirname(deviceDirectory))
            if let parents, !parents.contains(parent) { return nil }
            guard let typeLink = try? os.readLink(Paths.join(link, "mdev_type")) else { return nil }
            let group = (try? os.readLink(Paths.join(link, "iommu_group"))).flatMap { Int(Paths.basename($0)) }
            return VGPU(uuid: uuid, parent: parent, type: Paths.basename(typeLink), layout: .mdev, iommuGroup: group)
        }
    }

    // MARK: NVIDIA vendor-specific VFIO

    private func readVF(_ address: String, scope: InventoryScope) -> (Parent, VGPU?)? {
        let directory = Paths.join(paths.pciDevices, address)
        guard let listing = attribute(directory, "nvidia/creatable_vgpu_types") else { return nil }
        let current = attribute(directory, "nvidia/current_vgpu_type").flatMap { Int($0) } ?? 0
        var creatable = NVIDIAVGPUTypes.parse(listing)
        if let wanted = scope.types {
            let byName = wanted.subtracting(creatable.map(\.id))
            creatable = creatable.filter { wanted.contains($0.id) || InventoryScope.named($0.name, isOneOf: byName) }
        }
        let types = creatable.map { VGPUType(id: $0.id, name: $0.name, deviceAPI: "vfio-pci", availableInstances: current == 0 ? 1 : 0) }
        let pciInfo = pciIdentity(directory)
        let parent = Parent(name: address, layout: .nvidiaVFIO, gpu: pciInfo.gpu ?? address, vendor: pciInfo.vendor,
                            numaNode: pciInfo.numaNode, types: types)
        guard current != 0 else { return (parent, nil) }
        let group = (try? os.readLink(Paths.join(directory, "iommu_group"))).flatMap { Int(Paths.basename($0)) }
        let vgpu = VGPU(uuid: vfRecords.uuid(forVF: address), parent: address, type: NVIDIAVGPUTypes.typeID(current),
                        layout: .nvidiaVFIO, iommuGroup: group, pciAddress: address)
        return (parent, vgpu)
    }

    // MARK: attributes

    /// A trimmed attribute, or nil when the file is missing or unreadable (optional attributes, racing removals).
    func attribute(_ directory: String, _ name: String) -> String? {
        guard let text = try? os.read(Paths.join(directory, name)) else { return nil }
        return text.trimmingTrailingWhitespace
    }

    /// The physical GPU, vendor and NUMA node of a PCI parent; all nil for virtual parents (samples).
    /// Each NUMA node's CPUs (`devices/system/node/node<N>/cpulist`); empty where sysfs has no nodes.
    public func numaNodeCPUs() -> [Int: Set<Int>] {
        let base = Paths.join(paths.sysfs, "devices/system/node")
        var nodes: [Int: Set<Int>] = [:]
        for name in (try? os.list(base)) ?? [] where name.hasPrefix("node") {
            guard let node = Int(name.dropFirst(4)), let text = try? os.read(Paths.join(base, "\(name)/cpulist")),
                  let cpus = NUMAPinning.cpuList(text.trimmingTrailingWhitespace) else { continue }
            nodes[node] = cpus
        }
        return nodes
    }

    /// The PCI IDs of each physical GPU (a PF, or a PCI mdev parent) as vgpu-device-manager's `device-filter`
    /// writes them: `0xDDDDVVVV` (device, then vendor, upper-case hex), then the subsystem's the same way. Read
    /// only for a layout that filters on them (`apply`), so `types` does not pay for the extra files. GPUs that are
    /// not PCI devices (the samples) are absent.
    public func pciIDs(ofGPUs gpus: [String]) -> [String: [String]] {
        var found: [String: [String]] = [:]
        for gpu in gpus {
            let directory = Paths.join(paths.pciDevices, gpu)
            func id(_ device: String, _ vendor: String) -> String? {
                guard let d = attribute(directory, device), let v = attribute(directory, vendor), d.hasPrefix("0x"), v.hasPrefix("0x") else { return nil }
                return "0x" + d.dropFirst(2).uppercased() + v.dropFirst(2).uppercased()
            }
            let ids = [id("device", "vendor"), id("subsystem_device", "subsystem_vendor")].compactMap { $0 }
            if !ids.isEmpty { found[gpu] = ids }
        }
        return found
    }

    private func pciIdentity(_ directory: String) -> (gpu: String?, vendor: String?, numaNode: Int?) {
        let physfn = try? os.readLink(Paths.join(directory, "physfn"))
        let functionDirectory = physfn.map { _ in Paths.join(directory, "physfn") } ?? directory
        let vendor = attribute(directory, "vendor")
        let node = attribute(functionDirectory, "numa_node").flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil }
        return (physfn.map(Paths.basename), vendor, node)
    }
}

/// The `creatable_vgpu_types` format: an optional header `ID : vGPU Name`, then lines `1414 : NVIDIA H200X-1-18C`.
public enum NVIDIAVGPUTypes {
    public static func parse(_ text: String) -> [(id: String, name: String)] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ":", maxSplits: 1)
            guard fields.count == 2, let number = Int(fields[0].trimmingCharacters(in: " \t")) else { return nil }
            return (typeID(number), fields[1].trimmingCharacters(in: " \t"))
        }
    }

    /// vgpuctl's id for a numeric NVIDIA type, the same as the mdev layout's directory name (`nvidia-1414`).
    public static func typeID(_ number: Int) -> String { "nvidia-\(number)" }

    /// The number to write to `current_vgpu_type`, or nil if `id` is not an NVIDIA type id.
    public static func number(_ id: String) -> Int? {
        guard id.hasPrefix("nvidia-") else { return nil }
        return Int(id.dropFirst("nvidia-".count))
    }
}

/// Lets concurrent iterations write disjoint slots of one buffer.
struct UnsafeSendableBuffer<Element>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Element>
    init(_ buffer: UnsafeMutableBufferPointer<Element>) { self.buffer = buffer }
    subscript(index: Int) -> Element {
        get { buffer[index] }
        nonmutating set { buffer[index] = newValue }
    }
}

extension StringProtocol {
    var trimmingTrailingWhitespace: String {
        // Fast path for ASCII text (every sysfs attribute): there a Character is one byte (CR LF aside, which is
        // whitespace either way), and the whitespace ones are space and \t...\r, so bytes give the same result
        // as the Unicode rule below without its per-character property lookups.
        let ascii = utf8.withContiguousStorageIfAvailable { buffer -> String? in
            var end = 0
            for (offset, byte) in buffer.enumerated() {
                if byte >= 0x80 { return nil }
                if byte != 0x20 && !(0x09...0x0D).contains(byte) { end = offset + 1 }
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[0..<end]), as: UTF8.self)
        }
        if let ascii, let ascii { return ascii }
        var end = endIndex
        while end > startIndex, let last = self[index(before: end)].unicodeScalars.first, last.properties.isWhitespace {
            end = index(before: end)
        }
        return String(self[startIndex..<end])
    }

    func trimmingCharacters(in set: String) -> String {
        // Walks in from both ends, looking only at the characters it drops. (Reversing the whole text twice, as
        // this did, was two thirds of `types` on a host with vendor-specific VFIO VFs.)
        let drop = Set(set)
        var start = startIndex, end = endIndex
        while start < end, drop.contains(self[start]) { start = index(after: start) }
        while end > start, drop.contains(self[index(before: end)]) { end = index(before: end) }
        return String(self[start..<end])
    }
}
