import VGPUCore

/// A large host for the reconcile benchmark: 8 GPUs × 32 VF parents with 256 running vGPUs, 128 auto
/// definitions (half of them not running), and `domains` domains, each naming one or two vGPUs through
/// hostdevs and vgpuctl metadata, with metadata noise around them. Built in memory: the benchmark times
/// reading the domains' XML and planning, not sysfs.
public enum ReconcileWorkload {
    public static func make(domains count: Int = 500, vgpus: Int = 256) throws -> (inventory: Inventory, domainXML: [(name: String, active: Bool, xml: String)]) {
        var parents: [Parent] = [], running: [VGPU] = [], definitions: [Definition] = []
        for gpu in 0..<8 {
            for vf in 0..<32 {
                let name = "0000:\(hex(0x10 + gpu)):\(hex(vf / 8)).\(vf % 8)"
                parents.append(Parent(name: name, layout: .mdev, gpu: "0000:\(hex(0x10 + gpu)):00.0", vendor: "0x10de",
                                      types: [VGPUType(id: "nvidia-500", availableInstances: 1)]))
            }
        }
        for index in 0..<vgpus {
            let uuid = try DeviceUUID(parsing: "00000000-0000-4000-8000-\(pad(String(index, radix: 16), 12))")
            running.append(VGPU(uuid: uuid, parent: parents[index % parents.count].name, type: "nvidia-500", layout: .mdev))
            if index % 2 == 0 {
                definitions.append(Definition(uuid: uuid, parent: parents[index % parents.count].name, type: "nvidia-500", start: .auto))
            }
        }
        var documents: [(String, Bool, String)] = []
        for index in 0..<count {
            let owned = [running[index % vgpus]] + (index % 3 == 0 ? [running[(index + 7) % vgpus]] : [])
            let hostdevs = owned.map { "<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='\($0.uuid)'/></source><alias name='hostdev0'/></hostdev>" }
            let metadata = owned.map { "<device uuid='\($0.uuid)' type='nvidia-500' lifetime='persistent'/>" }.joined()
            let xml = """
                <domain type='kvm'><name>vm\(index)</name><uuid>\(running[index % vgpus].uuid)</uuid><memory unit='KiB'>8388608</memory>
                <metadata><app:info xmlns:app='urn:example:app'><app:owner>team\(index % 17)</app:owner><!-- \(hostdevs[0]) --></app:info>
                <vgpu:vgpus xmlns:vgpu='\(VGPUMetadata.namespace)'>\(metadata)</vgpu:vgpus></metadata>
                <vcpu placement='static'>8</vcpu><os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
                <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
                <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/vm\(index).qcow2'/><target dev='vda' bus='virtio'/></disk>
                <interface type='network'><source network='default'/><model type='virtio'/></interface>
                \(hostdevs.joined(separator: "\n"))</devices></domain>
                """
            documents.append(("vm\(index)", index % 4 == 0, xml))
        }
        return (Inventory(parents: parents, vgpus: running, definitions: definitions), documents)
    }

    /// Parses every domain and plans, as `vgpuctl reconcile` does after reading libvirt.
    public static func plan(_ inventory: Inventory, _ documents: [(name: String, active: Bool, xml: String)]) throws -> ReconcilePlanner.Report {
        let domains = try documents.map { name, active, xml in
            let document = try DomainDocument(xml: xml, what: name)
            return ReconcilePlanner.Domain(name: name, isActive: active, autostart: false, definition: document, live: active ? document : nil)
        }
        return ReconcilePlanner.plan(inventory: inventory, domains: domains, config: PlacementConfig(), prune: false)
    }

    private static func hex(_ value: Int) -> String { pad(String(value, radix: 16), 2) }
    private static func pad(_ text: String, _ width: Int) -> String { String(repeating: "0", count: max(0, width - text.count)) + text }
}
