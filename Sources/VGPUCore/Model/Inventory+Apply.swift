extension Inventory {
    /// The inventory as it will be after a create or remove step: planners that chain several plans (the hook,
    /// reconcile) place each vGPU on what the previous ones left.
    public mutating func apply(_ step: Step) {
        func adjust(_ parent: String, _ type: String, by delta: Int) {
            guard let p = parents.firstIndex(where: { $0.name == parent }), let t = parents[p].types.firstIndex(where: { $0.id == type }) else { return }
            parents[p].types[t].availableInstances += delta
        }
        switch step {
        case let .createMdev(uuid, parent, type):
            vgpus.append(VGPU(uuid: uuid, parent: parent, type: type, layout: .mdev))
            adjust(parent, type, by: -1)
        case let .assignVF(vf, type, uuid):
            vgpus.append(VGPU(uuid: uuid, parent: vf, type: type, layout: .nvidiaVFIO, pciAddress: vf))
            adjust(vf, type, by: -1)
        case let .removeMdev(uuid, parent, type), let .releaseVF(parent, type, uuid):
            vgpus.removeAll { $0.uuid == uuid }
            adjust(parent, type, by: 1)
        default: break
        }
    }
}
