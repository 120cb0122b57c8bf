import Foundation
import VGPUCore

/// Pure inventories for planner tests (no files).
enum Inventories {
    /// `gpus` NVIDIA SR-IOV GPUs × `vfs` VF parents, each VF an mdev parent offering `types` with 1 instance
    /// (A100-style: one vGPU per VF).
    static func sriov(gpus: Int = 8, vfs: Int = 4, types: [String] = ["nvidia-500", "nvidia-501"],
                      numa: (Int) -> Int? = { $0 < 4 ? 0 : 1 }, vgpus: [VGPU] = []) -> Inventory {
        var parents: [Parent] = []
        for gpu in 0..<gpus {
            let pf = "0000:\(String(format: "%02x", 0x10 + gpu)):00.0"
            for vf in 0..<vfs {
                let name = "0000:\(String(format: "%02x", 0x10 + gpu)):00.\(vf + 4)"
                let busy = vgpus.contains { $0.parent == name }
                parents.append(Parent(name: name, layout: .mdev, gpu: pf, vendor: nvidiaVendorID, numaNode: numa(gpu),
                                      types: types.map { VGPUType(id: $0, name: $0, deviceAPI: "vfio-pci", availableInstances: busy ? 0 : 1) }))
            }
        }
        return Inventory(parents: parents, vgpus: vgpus)
    }

    static func vgpu(_ index: Int, on parent: String, type: String) -> VGPU {
        VGPU(uuid: uuid(index), parent: parent, type: type, layout: .mdev)
    }

    static func uuid(_ index: Int) -> DeviceUUID {
        try! DeviceUUID(parsing: String(format: "00000000-0000-4000-8000-%012x", index))
    }

    static func uuids(_ count: Int, from start: Int = 1000) -> [DeviceUUID] { (0..<count).map { uuid(start + $0) } }

    /// The kernel samples: virtual parents, several instances per type, no vendor.
    static let samples = Inventory(parents: [
        Parent(name: "mtty", layout: .mdev, gpu: "mtty", types: [VGPUType(id: "mtty-1", availableInstances: 24), VGPUType(id: "mtty-2", availableInstances: 12)]),
        Parent(name: "mdpy", layout: .mdev, gpu: "mdpy", types: [VGPUType(id: "mdpy-vga", availableInstances: 4)]),
    ], vgpus: [])
}
