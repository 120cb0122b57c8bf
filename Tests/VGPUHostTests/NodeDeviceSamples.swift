import VGPUCore

/// Node devices as libvirt's node device driver reports them: parents with types, running and defined mdevs.
enum NodeDeviceSamples {
    static let uuid = try! DeviceUUID(parsing: "0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50")
    static let all: [[NodeDevice]] = [
        [],
        [NodeDevice(name: "mtty", parent: "computer", active: true,
                    types: [VGPUType(id: "mtty-1", name: "Single port serial", deviceAPI: "vfio-pci", availableInstances: 24),
                            VGPUType(id: "mtty-2", name: "Dual port serial", description: "a/b \"c\"", availableInstances: 0)]),
         NodeDevice(name: "mdev_0b1e5c4e_2d4a_4b8e_9b3e_5a1c2d3e4f50_mtty", parent: "mtty", active: true, uuid: uuid, type: "mtty-2"),
         NodeDevice(name: "mdev_x", parent: nil, active: false, uuid: uuid, type: "mdpy-vga")],
    ]
}
