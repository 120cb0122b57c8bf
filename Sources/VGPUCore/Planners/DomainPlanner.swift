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
        if vgpu.domains.contains(domain) {
            throw VGPUError(.invalidInput, "vGPU \(vgpu.uuid) is already attached to domain \(domain)", fix: "nothing to do")
        }
        if !vgpu.domains.isEmpty {
            throw VGPUError(.busy, "vGPU \(vgpu.uuid) is attached to domain \(vgpu.domains.joined(separator: ", "))",
                            fix: "detach it first: vgpuctl detach \(vgpu.uuid)")
        }
        return Plan(operation: "attach", steps: attachSteps(uuid: vgpu.uuid, xml: xml, domain: domain, scope: scope))
    }

    /// The domain a detach applies to: the one given, else the only one that references the vGPU.
    public static func detachedDomain(_ vgpu: VGPU, requested: String?) throws -> String {
        if let requested {
            guard vgpu.domains.contains(requested) else {
                throw VGPUError(.invalidInput, "vGPU \(vgpu.uuid) is not attached to domain \(requested)",
                                fix: vgpu.domains.isEmpty ? "see 'vgpuctl list'" : "it is attached to \(vgpu.domains.joined(separator: ", "))")
            }
            return requested
        }
        guard !vgpu.domains.isEmpty else {
            throw VGPUError(.invalidInput, "vGPU \(vgpu.uuid) is not attached to any domain", fix: "see 'vgpuctl list'")
        }
        guard vgpu.domains.count == 1 else {
            throw VGPUError(.invalidInput, "vGPU \(vgpu.uuid) is attached to several domains: \(vgpu.domains.joined(separator: ", "))",
                            fix: "say which with --vm DOMAIN")
        }
        return vgpu.domains[0]
    }

    public static func detach(_ vgpu: VGPU, from domain: String, isActive: Bool, xml: String) throws -> Plan {
        // Finished, not undone, if interrupted: re-attaching to a running guest would need it to answer again.
        return Plan(operation: "detach", steps: detachSteps(uuid: vgpu.uuid, xml: xml, domain: domain, isActive: isActive),
                    recovery: .rollForward)
    }

    /// `destroy --vm`: detach every vGPU the domain references, and remove those no other domain names (with
    /// their definitions); one another domain also names is only detached, and kept for that domain. Finished,
    /// not undone, if interrupted. `kept` lists the vGPUs left for other domains, so the front end can say so.
    public static func destroy(domain: String, isActive: Bool, inventory: Inventory,
                               hostdev: (VGPU) throws -> String) throws -> (plan: Plan, kept: [VGPU]) {
        let referenced = inventory.vgpus.filter { $0.domains.contains(domain) }
        var steps: [Step] = []
        var kept: [VGPU] = []
        for vgpu in referenced {
            steps.append(contentsOf: detachSteps(uuid: vgpu.uuid, xml: try hostdev(vgpu), domain: domain, isActive: isActive))
            if vgpu.domains.count > 1 { kept.append(vgpu); continue }
            steps.append(LifecyclePlanner.removeStep(vgpu))
            if let definition = inventory.definition(vgpu.uuid) { steps.append(.deleteDefinition(definition)) }
        }
        return (Plan(operation: "destroy --vm \(domain)", steps: steps, recovery: .rollForward), kept)
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
