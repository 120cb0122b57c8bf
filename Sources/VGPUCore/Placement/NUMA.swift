/// Which NUMA node a domain is pinned to, for placement's preference: the node its `<numatune>` memory names,
/// else the one node holding every CPU its `<vcpu cpuset>` / `<vcpupin cpuset>` pins it to.
public enum NUMAPinning {
    /// `nodeCPUs`: each node's CPUs, from `/sys/devices/system/node/node*/cpulist`.
    public static func node(ofDomain domain: DomainDocument, nodeCPUs: [Int: Set<Int>]) -> Int? {
        if let node = memoryNode(of: domain) { return node }
        guard let cpus = pinnedCPUs(of: domain), !cpus.isEmpty else { return nil }
        let nodes = nodeCPUs.filter { !$0.value.isDisjoint(with: cpus) }.map(\.key)
        return nodes.count == 1 && cpus.isSubset(of: nodeCPUs[nodes[0]]!) ? nodes[0] : nil
    }

    /// A kernel/libvirt CPU list: "0-3,8,10-11", with libvirt's "^N" exclusions. Nil if malformed.
    public static func cpuList(_ text: String) -> Set<Int>? {
        var included = Set<Int>(), excluded = Set<Int>()
        for part in text.split(separator: ",").map({ String($0).trimmingWhitespace }) where !part.isEmpty {
            let exclude = part.hasPrefix("^")
            let range = exclude ? String(part.dropFirst()) : part
            let bounds = range.split(separator: "-").map { Int($0) }
            guard bounds.allSatisfy({ $0 != nil }), let low = bounds.first ?? nil, let high = bounds.last ?? nil,
                  bounds.count <= 2, low <= high else { return nil }
            if exclude { excluded.formUnion(low...high) } else { included.formUnion(low...high) }
        }
        return included.subtracting(excluded)
    }
}

extension NUMAPinning {
    /// `request` for a domain: preferring the node its inactive XML pins it to (`plan --vm`, `create --vm`).
    public static func request(_ request: PlacementRequest, forDomain domain: String, inactiveXML: String,
                               nodeCPUs: [Int: Set<Int>]) throws -> PlacementRequest {
        let definition = try DomainDocument(xml: inactiveXML, what: "the inactive XML of domain \(domain)")
        var placed = request
        placed.numaNode = node(ofDomain: definition, nodeCPUs: nodeCPUs)
        return placed
    }

    /// The NUMA node a domain pins its memory to (`<numatune><memory nodeset='1'/>`), when it names exactly one.
    public static func memoryNode(of domain: DomainDocument) -> Int? {
        domain.root.path("numatune", "memory")?.attribute("nodeset").flatMap { Int($0) }
    }

    /// The CPUs a domain's vCPUs are pinned to: the union of its `<cputune><vcpupin cpuset>`, else `<vcpu cpuset>`.
    public static func pinnedCPUs(of domain: DomainDocument) -> Set<Int>? {
        let pins = (domain.root.child("cputune")?.children("vcpupin") ?? []).compactMap { $0.attribute("cpuset").flatMap(cpuList) }
        if !pins.isEmpty { return pins.reduce(Set()) { $0.union($1) } }
        return domain.root.child("vcpu")?.attribute("cpuset").flatMap(cpuList)
    }
}
