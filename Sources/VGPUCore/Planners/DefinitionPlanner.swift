/// Pure planners for persistent definitions: define, undefine, start, stop, and `--persist` on create.
public enum DefinitionPlanner {
    /// `define`: a definition for a new UUID. With a parent, no free instance is needed now (the definition is for
    /// later); without one, the placer picks a parent that has room, as create would.
    public static func define(type: String, parent: String?, uuid: DeviceUUID, start: Definition.Start,
                              inventory: Inventory, config: PlacementConfig) throws -> (Definition, Plan) {
        if let existing = inventory.definition(uuid) {
            throw VGPUError(.invalidInput, "vGPU \(uuid) is already defined (\(existing.type) on \(existing.parent))",
                            fix: "undefine it first, or choose another UUID")
        }
        let definition: Definition
        if let vgpu = inventory.vgpu(uuid) {
            // Defining a vGPU that exists makes it persistent, as `mdevctl define --uuid` does.
            guard vgpu.type == type, parent == nil || parent == vgpu.parent else {
                throw VGPUError(.invalidInput, "vGPU \(uuid) exists as \(vgpu.type) on \(vgpu.parent)",
                                fix: "define it with --type \(vgpu.type), or choose another UUID")
            }
            definition = Definition(uuid: uuid, parent: vgpu.parent, type: vgpu.type, start: start, layout: vgpu.layout)
        } else if let parent {
            let checked = try Placer(inventory: inventory, config: config).check(parent: parent, offers: type)
            definition = Definition(uuid: uuid, parent: parent, type: type, start: start, layout: checked.layout)
        } else {
            let placement = try Placer(inventory: inventory, config: config).place(PlacementRequest(type: type))[0]
            definition = Definition(uuid: uuid, parent: placement.parent, type: type, start: start, layout: placement.layout)
        }
        return (definition, Plan(operation: "define", steps: [.writeDefinition(definition)]))
    }

    public static func undefine(_ uuid: DeviceUUID, inventory: Inventory) throws -> Plan {
        Plan(operation: "undefine", steps: [.deleteDefinition(try defined(uuid, in: inventory))], recovery: .rollForward)
    }

    /// `start`: create the vGPU a definition describes.
    public static func start(_ uuid: DeviceUUID, inventory: Inventory) throws -> Plan {
        let definition = try defined(uuid, in: inventory)
        if let vgpu = inventory.vgpu(uuid) {
            throw VGPUError(.invalidInput, "vGPU \(uuid) is already running (\(vgpu.type) on \(vgpu.parent))", fix: "nothing to do")
        }
        guard let parent = inventory.parent(definition.parent) else {
            throw VGPUError(.notFound, "the parent \(definition.parent) of vGPU \(uuid) is not on this host",
                            fix: "load the vendor driver or check the GPU, then start it again ('vgpuctl types' lists parents)")
        }
        guard let offered = parent.type(definition.type), offered.availableInstances > 0 else {
            throw VGPUError(.noCapacity, "parent \(parent.name) has no free \(definition.type) instance for vGPU \(uuid)",
                            fix: "stop or remove another vGPU on \(parent.name) first")
        }
        let placement = Placement(parent: parent.name, gpu: parent.gpu, type: definition.type, layout: parent.layout, reason: "defined")
        return Plan(operation: "start", steps: [LifecyclePlanner.createStep(placement, uuid: uuid)])
    }

    /// `start --auto` (boot): a plan, or the reason there is none, for each `auto` definition not running now.
    /// Each is its own plan: one GPU missing after a reboot must not keep the others down.
    public static func startAuto(inventory: Inventory) -> [(Definition, Result<Plan, VGPUError>)] {
        inventory.definitions.filter { $0.start == .auto && inventory.vgpu($0.uuid) == nil }.map { definition in
            do { return (definition, .success(try start(definition.uuid, inventory: inventory))) } catch let error as VGPUError {
                return (definition, .failure(error))
            } catch { return (definition, .failure(VGPUError(.internalError, "\(error)"))) }
        }
    }

    /// `stop`: remove the vGPU, keep its definition.
    public static func stop(_ uuid: DeviceUUID, inventory: Inventory) throws -> Plan {
        _ = try defined(uuid, in: inventory)
        var plan = try LifecyclePlanner.remove(uuid, inventory: inventory)
        plan.operation = "stop"
        return plan
    }

    /// `remove`: the vGPU and, when it has one, its definition (so it does not come back at boot).
    public static func remove(_ uuid: DeviceUUID, inventory: Inventory) throws -> Plan {
        var plan = try LifecyclePlanner.remove(uuid, inventory: inventory)
        if let definition = inventory.definition(uuid) { plan.steps.append(.deleteDefinition(definition)) }
        return plan
    }

    /// `--persist`: a definition step after each create step of `plan`.
    public static func persisting(_ plan: Plan, start: Definition.Start) -> Plan {
        var steps: [Step] = []
        for step in plan.steps {
            steps.append(step)
            switch step {
            case let .createMdev(uuid, parent, type):
                steps.append(.writeDefinition(Definition(uuid: uuid, parent: parent, type: type, start: start)))
            case let .assignVF(vf, type, uuid):
                steps.append(.writeDefinition(Definition(uuid: uuid, parent: vf, type: type, start: start, layout: .nvidiaVFIO)))
            default: break
            }
        }
        return Plan(operation: plan.operation + " --persist", steps: steps, recovery: plan.recovery)
    }

    public static func defined(_ uuid: DeviceUUID, in inventory: Inventory) throws -> Definition {
        guard let definition = inventory.definition(uuid) else {
            throw VGPUError(.notFound, "no vGPU with UUID \(uuid) is defined", fix: "see 'vgpuctl list --defined'")
        }
        return definition
    }
}
