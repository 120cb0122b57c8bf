/// How much of the host a read needs. `apply` reads only what its layout names: a large host has tens of
/// thousands of type attribute files, and a layout asks about a few types (and sometimes a few GPUs) of them.
public struct InventoryScope: Equatable, Sendable {
    /// Only the parents of these physical GPUs (and the vGPUs on them); nil: every parent.
    public var gpus: Set<String>?
    /// Of each parent's types only those whose id is one of these, or whose name is (as `ApplyPlanner` matches a
    /// name: also without the vendor's prefix); nil: every type.
    public var types: Set<String>?

    public init(gpus: Set<String>? = nil, types: Set<String>? = nil) {
        self.gpus = gpus
        self.types = types
    }

    /// The whole host.
    public static let whole = InventoryScope()

    /// Whether a type with this id belongs in the read.
    public func wants(typeID id: String) -> Bool { types?.contains(id) ?? true }

    /// Whether a type named `name` belongs in the read because one of `texts` (requested types that are not an id
    /// on its parent) is its name.
    public static func named(_ name: String?, isOneOf texts: Set<String>) -> Bool {
        texts.contains { ApplyPlanner.matches(name: name, $0) }
    }
}

extension DeclaredLayout {
    /// What planning this layout reads: the types its entries ask for, on the GPUs it names when every entry names
    /// GPUs one by one ("all", groups and indices need every GPU). A plan made on this part of the host is the plan
    /// the whole host gives, except for refusals, whose messages list what the whole host offers: a caller plans
    /// a refused layout again on the whole host.
    public var inventoryScope: InventoryScope {
        var gpus: Set<String>? = []
        for entry in entries {
            if case .gpus(let ids) = entry.gpus { gpus?.formUnion(ids) } else { gpus = nil }
        }
        return InventoryScope(gpus: gpus, types: Set(entries.flatMap { $0.vgpus.map(\.type) }))
    }
}
