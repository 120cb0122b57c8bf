/// Which NUMA node a domain is pinned to, for placement's preference: the node its `<numatune>` memory names,
/// else the one node holding every CPU its `<vcpu cpuset>` / `<vcpupin cpuset>` pins it to.
public enum NUMAPinning {
    /// `nodeCPUs`: each node's CPUs, from `/sys/devices/system/node/node*/cpulist`.
    public static func node(ofDomain xml: String, nodeCPUs: [Int: Set<Int>]) -> Int? {
        if let node = DomainXML.numaNode(in: xml) { return node }
        guard let cpus = DomainXML.pinnedCPUs(in: xml), !cpus.isEmpty else { return nil }
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

extension DomainXML {
    /// The CPUs a domain's vCPUs are pinned to: `<vcpu cpuset='...'>`, or the union of its `<vcpupin cpuset>`.
    public static func pinnedCPUs(in xml: String) -> Set<Int>? {
        var pins: [Set<Int>] = []
        var rest = Substring(xml)
        while let start = rest.firstRange(of: "<vcpupin ") {
            let element = String(rest[start.lowerBound...].prefix { $0 != ">" })
            if let set = attribute("cpuset", in: element).flatMap(NUMAPinning.cpuList) { pins.append(set) }
            rest = rest[start.upperBound...]
        }
        if !pins.isEmpty { return pins.reduce(Set()) { $0.union($1) } }
        guard let vcpu = xml.firstRange(of: "<vcpu") else { return nil }
        let element = String(xml[vcpu.lowerBound...].prefix { $0 != ">" })
        return attribute("cpuset", in: element).flatMap(NUMAPinning.cpuList)
    }
}
