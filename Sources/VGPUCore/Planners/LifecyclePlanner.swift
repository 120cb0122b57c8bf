/// Pure planners for creating and removing vGPUs: Inventory + request -> Plan, or a typed refusal.
public enum LifecyclePlanner {
    /// Places `uuids.count` vGPUs and plans their creation. `uuids` come from the caller (libuuid, or `--uuid`),
    /// which keeps this function pure.
    public static func create(_ request: PlacementRequest, uuids: [DeviceUUID], inventory: Inventory,
                              config: PlacementConfig = PlacementConfig()) throws -> (placements: [Placement], plan: Plan) {
        precondition(uuids.count == request.count, "one UUID per vGPU")
        for uuid in uuids where inventory.vgpu(uuid) != nil {
            let existing = inventory.vgpu(uuid)!
            throw VGPUError(.invalidInput, "a vGPU with UUID \(uuid) already exists (\(existing.type) on \(existing.parent))",
                            fix: "choose another UUID, or omit --uuid to have one generated")
        }
        if Set(uuids).count != uuids.count {
            throw VGPUError(.invalidInput, "the same UUID is given twice", fix: "give each vGPU its own UUID")
        }
        let placements = try Placer(inventory: inventory, config: config).place(request)
        let steps = zip(placements, uuids).map { placement, uuid in createStep(placement, uuid: uuid) }
        return (placements, Plan(operation: "create", steps: steps))
    }

    public static func createStep(_ placement: Placement, uuid: DeviceUUID) -> Step {
        switch placement.layout {
        case .mdev: return .createMdev(uuid: uuid, parent: placement.parent, type: placement.type)
        case .nvidiaVFIO: return .assignVF(vf: placement.parent, type: placement.type, uuid: uuid)
        }
    }

    /// The step that removes an existing vGPU (the inverse of the step that created it).
    public static func removeStep(_ vgpu: VGPU) -> Step {
        switch vgpu.layout {
        case .mdev: return .removeMdev(uuid: vgpu.uuid, parent: vgpu.parent, type: vgpu.type)
        case .nvidiaVFIO: return .releaseVF(vf: vgpu.parent, type: vgpu.type, uuid: vgpu.uuid)
        }
    }

    public static func remove(_ uuid: DeviceUUID, inventory: Inventory) throws -> Plan {
        let vgpu = try existing(uuid, in: inventory)
        if !vgpu.domains.isEmpty {
            let names = vgpu.domains.joined(separator: ", ")
            throw VGPUError(.busy, "vGPU \(uuid) is attached to domain\(vgpu.domains.count > 1 ? "s" : "") \(names)",
                            fix: "detach it first ('vgpuctl detach \(uuid)\(vgpu.domains.count > 1 ? " --vm DOMAIN" : "")'), or use 'vgpuctl destroy --vm \(vgpu.domains[0])'")
        }
        return Plan(operation: "remove", steps: [removeStep(vgpu)], recovery: .rollForward)
    }

    public static func existing(_ uuid: DeviceUUID, in inventory: Inventory) throws -> VGPU {
        guard let vgpu = inventory.vgpu(uuid) else {
            throw VGPUError(.notFound, "no vGPU with UUID \(uuid) exists", fix: "see 'vgpuctl list' for the vGPUs on this host")
        }
        return vgpu
    }
}
