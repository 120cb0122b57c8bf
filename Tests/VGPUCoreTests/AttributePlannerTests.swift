import Testing
@testable import VGPUCore

/// Attributes in plans, attribute path checks, and `modify`: pure, no files.
@Suite struct AttributePlannerTests {
    let id = Inventories.uuid(1)
    let attributes: [Definition.Attribute] = [.init(name: "vendor/test_attr", value: "b"), .init(name: "a", value: "1"),
                                              .init(name: "vendor/test_attr", value: "a")]

    func inventory(_ definitions: [Definition]) -> Inventory {
        var inventory = Inventories.samples
        inventory.definitions = definitions
        return inventory
    }

    @Test func startWritesTheAttributesAfterCreatingInTheDefinitionsOrder() throws {
        let definition = Definition(uuid: id, parent: "mtty", type: "mtty-2", start: .manual, attributes: attributes)
        let plan = try DefinitionPlanner.start(id, inventory: inventory([definition]))
        #expect(plan.steps == [.createMdev(uuid: id, parent: "mtty", type: "mtty-2"),
                               .writeAttributes(uuid: id, parent: "mtty", layout: .mdev, attributes: attributes)])
        #expect(plan.recovery == .rollBack, "an interrupted start is undone: the device is removed")
        // Undoing the attribute step does nothing; undoing the create removes the device and its attributes.
        #expect(plan.steps[1].inverse == .keepAttributes(uuid: id, parent: "mtty", layout: .mdev, attributes: attributes))
        #expect(plan.steps[1].inverse.inverse == plan.steps[1])
        // Without attributes, a start stays one step (nothing to journal).
        let bare = Definition(uuid: id, parent: "mtty", type: "mtty-2", start: .manual)
        #expect(try DefinitionPlanner.start(id, inventory: inventory([bare])).steps.count == 1)
    }

    @Test func startAutoAndCreatePersistCarryTheAttributesToo() throws {
        let definition = Definition(uuid: id, parent: "mdpy", type: "mdpy-vga", start: .auto, attributes: attributes)
        let auto = DefinitionPlanner.startAuto(inventory: inventory([definition]))
        #expect(try auto[0].1.get().steps.last == .writeAttributes(uuid: id, parent: "mdpy", layout: .mdev, attributes: attributes))

        let (_, plan) = try LifecyclePlanner.create(PlacementRequest(type: "mtty-1", count: 2), uuids: Inventories.uuids(2),
                                                   inventory: Inventories.samples)
        let persisted = DefinitionPlanner.persisting(plan, start: .auto, attributes: attributes)
        #expect(persisted.steps.count == 6, "create, attributes, define for each")
        guard case let .writeDefinition(written) = persisted.steps[2] else { Issue.record("\(persisted.steps)"); return }
        #expect(written.attributes == attributes)
        #expect(persisted.steps[1] == .writeAttributes(uuid: Inventories.uuids(2)[0], parent: written.parent, layout: .mdev, attributes: attributes))
    }

    @Test func attributePathsThatLeaveTheDeviceDirectoryAreRefusedBeforeAnythingChanges() throws {
        let refused = ["", "/sys/class/mdev_bus/mtty/remove", "..", "../remove", "vendor/../../x", "a//b", "./a", "a/.",
                       "mdev_type/create", "iommu_group/devices", "driver/unbind", "subsystem/drivers_probe", "a\nb"]
        for name in refused {
            let error = #expect(throws: VGPUError.self, "\(name)") { try Validation.attributeName(name) }
            #expect(error?.kind == .invalidInput)
            #expect(error?.fix.contains("inside the device's sysfs directory") == true)
        }
        for name in ["nvidia/vgpu_params", "vendor/test_attr", "assign_adapter", "a.b/c-d_e"] {
            #expect(try Validation.attributeName(name) == name)
        }
        #expect(throws: VGPUError.self) { try Validation.attributeValue("a\u{0}b", of: "x") }
        #expect(try Validation.attributeValue("enable_uvm=1, frame_rate_limiter=0\n", of: "x").hasPrefix("enable_uvm"))

        // A definition file with such a path cannot be started: refused before any step, naming it.
        let bad = Definition(uuid: id, parent: "mtty", type: "mtty-2", start: .manual,
                             attributes: [.init(name: "a", value: "1"), .init(name: "../../../remove", value: "1")])
        let error = #expect(throws: VGPUError.self) { try DefinitionPlanner.start(id, inventory: inventory([bad])) }
        #expect(error?.message.contains("'../../../remove'") == true)
        #expect(error?.message.contains(id.text) == true)
        #expect(throws: VGPUError.self) {
            try DefinitionPlanner.define(type: "mtty-2", parent: "mtty", uuid: id, start: .auto, attributes: bad.attributes,
                                         inventory: Inventories.samples, config: PlacementConfig())
        }
    }

    @Test func theSameUUIDOnTwoParentsNeedsAParent() throws {
        let a = Definition(uuid: id, parent: "mtty", type: "mtty-1", start: .manual)
        let b = Definition(uuid: id, parent: "mdpy", type: "mdpy-vga", start: .manual)
        let both = inventory([a, b])
        let error = #expect(throws: VGPUError.self) { try DefinitionPlanner.start(id, inventory: both) }
        #expect(error?.fix == "name one with --parent")
        #expect(try DefinitionPlanner.start(id, parent: "mdpy", inventory: both).steps == [.createMdev(uuid: id, parent: "mdpy", type: "mdpy-vga")])
        #expect(throws: VGPUError.self) { try DefinitionPlanner.modify(id, parent: nil, change: DefinitionChange(start: .auto), inventory: both) }
        let (changed, _) = try DefinitionPlanner.modify(id, parent: "mtty", change: DefinitionChange(start: .auto), inventory: both)
        #expect(changed == Definition(uuid: id, parent: "mtty", type: "mtty-1", start: .auto))
        // start --auto starts each by its own parent (the kernel then refuses the second UUID: it exists).
        let started = DefinitionPlanner.startAuto(inventory: inventory([a, b].map { var d = $0; d.start = .auto; return d }))
        #expect(started.map(\.0.parent) == ["mtty", "mdpy"] || started.map(\.0.parent) == ["mdpy", "mtty"], "one start per definition")
        for (definition, planned) in started {
            do { _ = try planned.get() } catch { Issue.record("the start on \(definition.parent) was refused: \(error)") }
        }
    }

    @Test func modifyAddsAndDeletesByIndexAsMdevctlDoes() throws {
        let old = Definition(uuid: id, parent: "mtty", type: "mtty-2", start: .manual, attributes: attributes)
        let defined = inventory([old])
        let added = Definition.Attribute(name: "added", value: "v")
        func modify(_ change: DefinitionChange) throws -> [Definition.Attribute] {
            try DefinitionPlanner.modify(id, parent: nil, change: change, inventory: defined).0.attributes
        }
        #expect(try modify(.init(attribute: .add(added, index: 1))) == [attributes[0], added, attributes[1], attributes[2]])
        #expect(try modify(.init(attribute: .add(added, index: nil))) == attributes + [added])
        #expect(try modify(.init(attribute: .add(added, index: 3))) == attributes + [added], "index == count appends")
        #expect(try modify(.init(attribute: .delete(index: 0))) == Array(attributes[1...]))
        #expect(try modify(.init(attribute: .delete(index: nil))) == Array(attributes[..<2]))
        for change in [DefinitionChange(attribute: .add(added, index: 4)), DefinitionChange(attribute: .delete(index: 3))] {
            let error = #expect(throws: VGPUError.self) { try modify(change) }
            #expect(error?.message.contains("attribute index") == true)
        }
        // Deleting the last of none is not an error (mdevctl pops an empty list).
        let empty = Definition(uuid: id, parent: "mtty", type: "mtty-2", start: .manual)
        #expect(try DefinitionPlanner.modify(id, parent: nil, change: .init(attribute: .delete(index: nil)), inventory: inventory([empty])).0 == empty)

        let (new, plan) = try DefinitionPlanner.modify(id, parent: nil, change: .init(type: "mtty-1", start: .auto), inventory: defined)
        #expect(new.type == "mtty-1" && new.start == .auto && new.attributes == attributes)
        #expect(plan.steps == [.replaceDefinition(old: old, new: new)])
        #expect(plan.steps[0].inverse == .replaceDefinition(old: new, new: old))
        #expect(throws: VGPUError.self) {
            try DefinitionPlanner.modify(id, parent: nil, change: .init(attribute: .add(.init(name: "../x", value: "1"), index: nil)), inventory: defined)
        }
    }
}
