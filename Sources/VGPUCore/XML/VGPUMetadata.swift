/// vgpuctl's own schema inside a domain's `<metadata>`, in its own namespace (libvirt keeps one element per
/// namespace there, and hands it back verbatim):
///
///     <vgpu:vgpus xmlns:vgpu='http://vgpuctl.org/xmlns/domain/1'>
///       <device uuid='…' type='mtty-2' lifetime='persistent|domain' [group='…'] [policy='pack|spread']
///               [defined='auto|manual'] [vf='dddd:bb:ss.f']/>
///
/// `defined` says the vGPU had a definition with that start policy when the domain left its last host
/// (`vgpuctl migrate` records it), so the destination defines its vGPU too. `vf` is the VF a vendor-specific
/// VFIO vGPU of domain lifetime is reserved on (the domain's `<hostdev type='pci'>` names it).
///     </vgpu:vgpus>
///
/// Only elements in this namespace, directly under `/domain/metadata`, are read; look-alikes in any other
/// namespace or place never count. A device element that does not parse is skipped and reported.
public enum VGPUMetadata {
    public static let namespace = "http://vgpuctl.org/xmlns/domain/1"
    public static let prefix = "vgpu"

    /// The requests a domain records, and a problem line for each device element that could not be read.
    public static func requests(in domain: DomainDocument) -> (requests: [VGPURequest], problems: [String]) {
        var requests: [VGPURequest] = [], problems: [String] = []
        for device in deviceElements(in: domain) {
            do { requests.append(try request(device)) } catch let error as VGPUError {
                problems.append("domain \(domain.name ?? "?"): vgpuctl metadata skipped: \(error.message)")
            } catch {}
        }
        return (requests, problems)
    }

    /// The `<device>` elements of vgpuctl's container directly under `/domain/metadata`.
    static func deviceElements(in domain: DomainDocument) -> [XMLNode] {
        let containers = domain.root.children("metadata").flatMap { $0.children("vgpus", namespace: namespace) }
        // libvirt puts the namespace on the container only; its children are ours whether or not they repeat it.
        return containers.flatMap { $0.children.filter { $0.name == "device" && ($0.namespace == nil || $0.namespace == namespace) } }
    }

    static func request(_ device: XMLNode) throws -> VGPURequest {
        guard let text = device.attribute("uuid") else { throw VGPUError(.invalidInput, "a device without uuid") }
        let uuid = try DeviceUUID(parsing: text)
        guard let type = device.attribute("type") else { throw VGPUError(.invalidInput, "device \(uuid) has no type") }
        _ = try Validation.typeName(type)
        let lifetimeText = device.attribute("lifetime") ?? "persistent"
        guard let lifetime = VGPURequest.Lifetime(rawValue: lifetimeText) else {
            throw VGPUError(.invalidInput, "device \(uuid) has lifetime '\(Validation.printable(lifetimeText))' (persistent or domain)")
        }
        let policyText = device.attribute("policy")
        let policy = try policyText.map { text -> PlacementPolicy in
            guard let policy = PlacementPolicy(rawValue: text) else {
                throw VGPUError(.invalidInput, "device \(uuid) has policy '\(Validation.printable(text))' (pack or spread)")
            }
            return policy
        }
        let definedText = device.attribute("defined")
        let defined = try definedText.map { text -> Definition.Start in
            guard let start = Definition.Start(rawValue: text) else {
                throw VGPUError(.invalidInput, "device \(uuid) has defined '\(Validation.printable(text))' (auto or manual)")
            }
            return start
        }
        let vf = try device.attribute("vf").map { text -> String in
            guard let address = try? PCIAddress(parsing: text), address.text == text else {
                throw VGPUError(.invalidInput, "device \(uuid) has vf '\(Validation.printable(text))' (a PCI address, dddd:bb:ss.f)")
            }
            return text
        }
        return VGPURequest(uuid: uuid, type: type, lifetime: lifetime, group: device.attribute("group"), policy: policy, defined: defined, vf: vf)
    }

    /// The `<vgpus>` element for `requests` as `virDomainSetMetadata` takes it (libvirt adds the namespace and
    /// prefix to the element itself), each device rendered from its template (escaped); nil when there is
    /// nothing to record (libvirt then removes the element).
    public static func element(_ requests: [VGPURequest], device template: Template) throws -> String? {
        guard !requests.isEmpty else { return nil }
        let devices = try requests.map { request in
            try template.render(["uuid": request.uuid.text, "type": request.type, "lifetime": request.lifetime.rawValue,
                                 "group": request.group ?? "", "policy": request.policy?.rawValue ?? "",
                                 "defined": request.defined?.rawValue ?? "", "vf": request.vf ?? ""]).trimmingWhitespace
        }
        return "<vgpus>" + devices.joined() + "</vgpus>"
    }

    /// `element` as libvirt stores it in the domain (the namespace declared on the container).
    public static func stored(_ element: String) -> String {
        guard element.hasPrefix("<vgpus>"), element.hasSuffix("</vgpus>") else { return element }
        return "<\(prefix):vgpus xmlns:\(prefix)='\(namespace)'>" + element.dropFirst("<vgpus>".count).dropLast("</vgpus>".count) + "</\(prefix):vgpus>"
    }
}
