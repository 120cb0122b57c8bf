/// Pure planners for vGPUs and libvirt domains: create-and-attach, attach, detach, destroy.
public enum DomainPlanner {
    /// Which scopes an attach or detach touches: `--config`, `--live` (domain must run), or by default the
    /// persistent definition plus the running domain when it runs.
    public static func scope(config: Bool, live: Bool, domain: String, isActive: Bool) throws -> AttachScope {
        if live && !isActive {
            throw VGPUError(.invalidInput, "domain \(domain) is not running, so --live has nothing to change",
                            fix: "drop --live (the definition is changed by default), or start the domain first")
        }
        if config && live { return .both }
        if config { return .config }
        if live { return .live }
        return isActive ? .both : .config
    }

    /// `create --vm`: create each vGPU, then attach it; one transaction (a failed attach removes the vGPUs).
    public static func createAndAttach(_ placements: [Placement], uuids: [DeviceUUID], domain: String, scope: AttachScope,
                                       hostdev: (VGPU) throws -> String) throws -> Plan {
        var steps: [Step] = []
        for (placement, uuid) in zip(placements, uuids) {
            let vgpu = VGPU(uuid: uuid, parent: placement.parent, type: placement.type, layout: placement.layout,
                            pciAddress: placement.layout == .nvidiaVFIO ? placement.parent : nil)
            steps.append(LifecyclePlanner.createStep(placement, uuid: uuid))
            steps.append(contentsOf: attachSteps(uuid: uuid, xml: try hostdev(vgpu), domain: domain, scope: scope))
        }
        return Plan(operation: "create --vm \(domain)", steps: steps)
    }

    public static func attach(_ vgpu: VGPU, domain: String, scope: AttachScope, xml: String) throws -> Plan {
        if let current = vgpu.domain {
            throw VGPUError(current == domain ? .invalidInput : .busy,
                            current == domain ? "vGPU \(vgpu.uuid) is already attached to domain \(domain)"
                                              : "vGPU \(vgpu.uuid) is attached to domain \(current)",
                            fix: current == domain ? "nothing to do" : "detach it first: vgpuctl detach \(vgpu.uuid)")
        }
        return Plan(operation: "attach", steps: attachSteps(uuid: vgpu.uuid, xml: xml, domain: domain, scope: scope))
    }

    public static func detach(_ vgpu: VGPU, isActive: Bool, xml: String) throws -> Plan {
        guard let domain = vgpu.domain else {
            throw VGPUError(.invalidInput, "vGPU \(vgpu.uuid) is not attached to any domain", fix: "see 'vgpuctl list'")
        }
        // Finished, not undone, if interrupted: re-attaching to a running guest would need it to answer again.
        return Plan(operation: "detach", steps: detachSteps(uuid: vgpu.uuid, xml: xml, domain: domain, isActive: isActive),
                    recovery: .rollForward)
    }

    /// `destroy --vm`: detach and remove every vGPU the domain references, and their definitions. Finished, not
    /// undone, if interrupted.
    public static func destroy(domain: String, isActive: Bool, inventory: Inventory, hostdev: (VGPU) throws -> String) throws -> Plan {
        let owned = inventory.vgpus.filter { $0.domain == domain }
        var steps: [Step] = []
        for vgpu in owned {
            steps.append(contentsOf: detachSteps(uuid: vgpu.uuid, xml: try hostdev(vgpu), domain: domain, isActive: isActive))
            steps.append(LifecyclePlanner.removeStep(vgpu))
            if let definition = inventory.definition(vgpu.uuid) { steps.append(.deleteDefinition(definition)) }
        }
        return Plan(operation: "destroy --vm \(domain)", steps: steps, recovery: .rollForward)
    }

    /// Attach the definition first, then the running domain: a refused live attach leaves the config to undo.
    static func attachSteps(uuid: DeviceUUID, xml: String, domain: String, scope: AttachScope) -> [Step] {
        var steps: [Step] = []
        if scope.contains(.config) { steps.append(.attachHostdev(domain: domain, uuid: uuid, xml: xml, scope: .config)) }
        if scope.contains(.live) { steps.append(.attachHostdev(domain: domain, uuid: uuid, xml: xml, scope: .live)) }
        return steps
    }

    /// Detach from the running domain first (the guest must release it), then from the definition, so a guest
    /// that never answers leaves everything as it was.
    static func detachSteps(uuid: DeviceUUID, xml: String, domain: String, isActive: Bool) -> [Step] {
        var steps: [Step] = []
        if isActive { steps.append(.detachHostdev(domain: domain, uuid: uuid, xml: xml, scope: .live)) }
        steps.append(.detachHostdev(domain: domain, uuid: uuid, xml: xml, scope: .config))
        return steps
    }
}
