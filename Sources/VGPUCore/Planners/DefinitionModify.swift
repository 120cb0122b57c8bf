/// What `modify` changes in a definition, as `mdevctl modify` does: the type, auto/manual, and one attribute
/// added (at an index, else at the end) or deleted (at an index, else the last).
public struct DefinitionChange: Equatable, Sendable {
    public enum AttributeEdit: Equatable, Sendable {
        case add(Definition.Attribute, index: Int?)
        case delete(index: Int?)
    }

    public var type: String?
    public var start: Definition.Start?
    public var attribute: AttributeEdit?

    public init(type: String? = nil, start: Definition.Start? = nil, attribute: AttributeEdit? = nil) {
        self.type = type
        self.start = start
        self.attribute = attribute
    }
}

extension DefinitionPlanner {
    /// `modify`: the changed definition and the plan that writes it. `parent` picks the definition when its UUID
    /// is defined on several parents (it selects, it does not move: mdevctl's meaning). A running vGPU keeps
    /// running as it is; the change applies from its next start.
    public static func modify(_ uuid: DeviceUUID, parent: String?, change: DefinitionChange,
                              inventory: Inventory) throws -> (Definition, Plan) {
        let old = try defined(uuid, parent: parent, in: inventory)
        var new = old
        if let type = change.type { new.type = try Validation.typeName(type) }
        if let start = change.start { new.start = start }
        switch change.attribute {
        case let .add(attribute, index)?:
            try Validation.attributes([attribute])
            let at = index ?? new.attributes.count
            guard (0...new.attributes.count).contains(at) else { throw badIndex(at, of: old) }
            new.attributes.insert(attribute, at: at)
        case let .delete(index)?:
            if let index {
                guard new.attributes.indices.contains(index) else { throw badIndex(index, of: old) }
                new.attributes.remove(at: index)
            } else if !new.attributes.isEmpty {
                new.attributes.removeLast()
            }
        case nil: break
        }
        return (new, Plan(operation: "modify", steps: [.replaceDefinition(old: old, new: new)]))
    }

    /// mdevctl's refusal, with its hint: the attributes as `list --defined -v` numbers them.
    static func badIndex(_ index: Int, of definition: Definition) -> VGPUError {
        VGPUError(.invalidInput, "attribute index \(index) is invalid for vGPU \(definition.uuid): " +
                  (definition.attributes.isEmpty ? "it has no attributes"
                                                 : "it has \(definition.attributes.count) (0 to \(definition.attributes.count - 1))"),
                  fix: "see 'vgpuctl list --defined --verbose' for the index of each attribute")
    }
}
