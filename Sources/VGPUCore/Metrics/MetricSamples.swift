/// One value of one Prometheus metric: what vgpud exports about the host, computed purely from an `Inventory`
/// so that what the endpoint says is tested without a kernel. vgpud sets its gauges from these.
public struct MetricSample: Equatable, Sendable, CustomStringConvertible {
    public var name: String
    /// Label name → value; rendered sorted by name.
    public var labels: [String: String]
    public var value: Double

    public init(_ name: String, _ labels: [String: String] = [:], _ value: Double) {
        self.name = name
        self.labels = labels
        self.value = value
    }

    public var sortedLabels: [(String, String)] { labels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }

    public var description: String {
        let rendered = sortedLabels.map { "\($0)=\"\($1)\"" }.joined(separator: ",")
        return rendered.isEmpty ? "\(name) \(value)" : "\(name){\(rendered)} \(value)"
    }
}

/// The host's vGPU state as metric samples (gauges). Names and meanings are stable; README lists them.
public enum InventoryMetrics {
    public static let help: [String: String] = [
        "vgpu_parent_types": "vGPU types a parent offers",
        "vgpu_free_instances": "vGPUs of a type a parent can still create (available_instances)",
        "vgpu_vgpus": "vGPUs that exist now, per parent and type",
        "vgpu_gpu_vgpus": "vGPUs that exist now, per physical GPU",
        "vgpu_domain_vgpus": "vGPUs a libvirt domain references (only while libvirt is reachable)",
        "vgpu_definitions": "persistent vGPU definitions, by start mode and whether the vGPU runs",
        "vgpu_libvirt_reachable": "1 when vgpud could read the domains from libvirt, else 0",
    ]

    /// `domainsKnown`: whether `inventory`'s vGPUs were annotated with their domains (libvirt reachable); without
    /// it no per-domain sample is produced (an unknown domain is not "no domain").
    public static func samples(_ inventory: Inventory, domainsKnown: Bool) -> [MetricSample] {
        var samples: [MetricSample] = []
        for parent in inventory.parents {
            samples.append(MetricSample("vgpu_parent_types", ["gpu": parent.gpu, "parent": parent.name], Double(parent.types.count)))
            for type in parent.types {
                samples.append(MetricSample("vgpu_free_instances", ["gpu": parent.gpu, "parent": parent.name, "type": type.id],
                                            Double(type.availableInstances)))
            }
        }
        let gpuOf = Dictionary(inventory.parents.map { ($0.name, $0.gpu) }, uniquingKeysWith: { first, _ in first })
        var perParentType: [String: (parent: String, type: String, count: Int)] = [:]
        var perGPU: [String: Int] = [:]
        var perDomain: [String: Int] = [:]
        for parent in inventory.parents { perGPU[parent.gpu] = perGPU[parent.gpu] ?? 0 }
        for vgpu in inventory.vgpus {
            let key = vgpu.parent + "\u{0}" + vgpu.type
            perParentType[key, default: (vgpu.parent, vgpu.type, 0)].count += 1
            perGPU[gpuOf[vgpu.parent] ?? vgpu.parent, default: 0] += 1
            if domainsKnown { for domain in vgpu.domains { perDomain[domain, default: 0] += 1 } }
        }
        for entry in perParentType.values.sorted(by: { ($0.parent, $0.type) < ($1.parent, $1.type) }) {
            samples.append(MetricSample("vgpu_vgpus", ["gpu": gpuOf[entry.parent] ?? entry.parent, "parent": entry.parent, "type": entry.type],
                                        Double(entry.count)))
        }
        for (gpu, count) in perGPU.sorted(by: { $0.key < $1.key }) {
            samples.append(MetricSample("vgpu_gpu_vgpus", ["gpu": gpu], Double(count)))
        }
        for (domain, count) in perDomain.sorted(by: { $0.key < $1.key }) {
            samples.append(MetricSample("vgpu_domain_vgpus", ["domain": domain], Double(count)))
        }
        for start in Definition.Start.allCases {
            for running in [true, false] {
                let count = inventory.definitions.filter { $0.start == start && (inventory.vgpu($0.uuid) != nil) == running }.count
                samples.append(MetricSample("vgpu_definitions", ["start": start.rawValue, "running": running ? "true" : "false"], Double(count)))
            }
        }
        samples.append(MetricSample("vgpu_libvirt_reachable", [:], domainsKnown ? 1 : 0))
        return samples
    }
}

/// What the libvirt hook reports about itself in `<root>/run/vgpuctl/hook-stats` (written by the hook, read by
/// vgpud): one `name value` pair a line, `invocations N` and `latency_ms_sum X`; other lines are ignored so the
/// hook may add more. A missing file means the hook has not run since boot (/run is a tmpfs).
public struct HookStats: Equatable, Sendable {
    public var invocations: Double
    public var latencyMillisecondsSum: Double

    public init(invocations: Double, latencyMillisecondsSum: Double) {
        self.invocations = invocations
        self.latencyMillisecondsSum = latencyMillisecondsSum
    }

    /// nil when the text has neither value (an empty or foreign file).
    public static func parse(_ text: String) -> HookStats? {
        var invocations: Double?
        var latency: Double?
        for line in text.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count == 2, let value = Double(words[1]), value.isFinite, value >= 0 else { continue }
            switch words[0] {
            case "invocations": invocations = value
            case "latency_ms_sum": latency = value
            default: continue
            }
        }
        guard invocations != nil || latency != nil else { return nil }
        return HookStats(invocations: invocations ?? 0, latencyMillisecondsSum: latency ?? 0)
    }

    public var samples: [MetricSample] {
        [MetricSample("vgpu_hook_invocations", [:], invocations), MetricSample("vgpu_hook_latency_ms_sum", [:], latencyMillisecondsSum)]
    }

    public static let help: [String: String] = [
        "vgpu_hook_invocations": "libvirt hook runs since boot, as the hook reports them in /run/vgpuctl/hook-stats",
        "vgpu_hook_latency_ms_sum": "total milliseconds the libvirt hook ran since boot (divide by vgpu_hook_invocations for the mean)",
    ]
}
