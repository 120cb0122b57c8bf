/// Pure planners for persistent definitions: define, undefine, start, stop, and `--persist` on create.
public enum DefinitionPlanner {
    /// `define`: a definition for a new UUID. With a parent, no free instance is needed now (the definition is for
    /// later); without one, the placer picks a parent that has room, as create would.
    public static func define(type: String, parent: String?, uuid: DeviceUUID, start: Definition.Start,
                              attributes: [Definition.Attribute] = [],
                              inventory: Inventory, config: PlacementConfig) throws -> (Definition, Plan) {
        try Validation.attributes(attributes)
        if let existing = inventory.definition(uuid) {
            throw VGPUError(.invalidInput, "vGPU \(uuid) is already defined (\(existing.type) on \(existing.parent))",
                            fix: "undefine it first, or choose another UUID")
        }
        var definition: Definition
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
        definition.attributes = attributes
        return (definition, Plan(operation: "define", steps: [.writeDefinition(definition)]))
    }

    public static func undefine(_ uuid: DeviceUUID, parent: String? = nil, inventory: Inventory) throws -> Plan {
        Plan(operation: "undefine", steps: [.deleteDefinition(try defined(uuid, parent: parent, in: inventory))], recovery: .rollForward)
    }

    /// `start`: create the vGPU a definition describes, then write its attributes (see `startSteps`).
    public static func start(_ uuid: DeviceUUID, parent: String? = nil, inventory: Inventory) throws -> Plan {
        let definition = try defined(uuid, parent: parent, in: inventory)
        // Checked before anything changes: a definition file is written by hand or by another tool.
        do { try Validation.attributes(definition.attributes) } catch let error as VGPUError {
            throw VGPUError(.invalidInput, "the definition of vGPU \(uuid) on \(definition.parent): \(error.message)",
                            fix: "\(error.fix) ('vgpuctl modify \(uuid) --delattr --index N' removes one)")
        }
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
        return Plan(operation: "start", steps: startSteps(definition, placement: placement))
    }

    /// What starting a definition takes, for every front end that starts one (start, start --auto, create
    /// --persist): create the device, then write its attributes in the definition's order. A failed write
    /// fails the plan, so the executor removes the device again: a vGPU never runs without its attributes.
    public static func startSteps(_ definition: Definition, placement: Placement) -> [Step] {
        let create = LifecyclePlanner.createStep(placement, uuid: definition.uuid)
        guard !definition.attributes.isEmpty else { return [create] }
        return [create, .writeAttributes(uuid: definition.uuid, parent: placement.parent, layout: placement.layout,
                                         attributes: definition.attributes)]
    }

    /// `start --auto` (boot): a plan, or the reason there is none, for each `auto` definition not running now.
    /// Each is its own plan: one GPU missing after a reboot must not keep the others down.
    public static func startAuto(inventory: Inventory) -> [(Definition, Result<Plan, VGPUError>)] {
        inventory.definitions.filter { $0.start == .auto && inventory.vgpu($0.uuid) == nil }.map { definition in
            do { return (definition, .success(try start(definition.uuid, parent: definition.parent, inventory: inventory))) } catch let error as VGPUError {
                return (definition, .failure(error))
            } catch { return (definition, .failure(VGPUError(.internalError, "\(error)"))) }
        }
    }

    /// `stop`: remove the vGPU, keep its definition.
    public static func stop(_ uuid: DeviceUUID, inventory: Inventory) throws -> Plan {
        guard inventory.definition(uuid) != nil else {
            throw VGPUError(.notFound, "no vGPU with UUID \(uuid) is defined", fix: "see 'vgpuctl list --defined'")
        }
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

    /// `--persist`: after each create step of `plan`, its attributes (the vGPU runs now as it will after a
    /// reboot) and its definition.
    public static func persisting(_ plan: Plan, start: Definition.Start, attributes: [Definition.Attribute] = []) -> Plan {
        var steps: [Step] = []
        func persist(_ definition: Definition) {
            if !attributes.isEmpty {
                steps.append(.writeAttributes(uuid: definition.uuid, parent: definition.parent, layout: definition.layout, attributes: attributes))
            }
            steps.append(.writeDefinition(definition))
        }
        for step in plan.steps {
            steps.append(step)
            switch step {
            case let .createMdev(uuid, parent, type):
                persist(Definition(uuid: uuid, parent: parent, type: type, start: start, attributes: attributes))
            case let .assignVF(vf, type, uuid):
                persist(Definition(uuid: uuid, parent: vf, type: type, start: start, layout: .nvidiaVFIO, attributes: attributes))
            default: break
            }
        }
        return Plan(operation: plan.operation + " --persist", steps: steps, recovery: plan.recovery)
    }

    /// The definition of `uuid`; with `parent`, the one on that parent. mdevctl lets one UUID be defined on
    /// several parents (only one can run at a time), so without a parent more than one is refused.
    public static func defined(_ uuid: DeviceUUID, parent: String? = nil, in inventory: Inventory) throws -> Definition {
        let matching = inventory.definitions.filter { $0.uuid == uuid && (parent == nil || $0.parent == parent) }
        guard let definition = matching.first else {
            throw VGPUError(.notFound, "no vGPU with UUID \(uuid) is defined\(parent.map { " on \($0)" } ?? "")",
                            fix: "see 'vgpuctl list --defined'")
        }
        guard matching.count == 1 else {
            throw VGPUError(.invalidInput, "vGPU \(uuid) is defined on \(matching.count) parents (\(matching.map(\.parent).joined(separator: ", ")))",
                            fix: "name one with --parent")
        }
        return definition
    }
}
