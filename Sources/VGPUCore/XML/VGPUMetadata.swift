/// vgpuctl's own schema inside a domain's `<metadata>`, in its own namespace (libvirt keeps one element per
/// namespace there, and hands it back verbatim):
///
///     <vgpu:vgpus xmlns:vgpu='http://vgpuctl.org/xmlns/domain/1'>
///       <vgpu:device uuid='…' type='mtty-2' lifetime='persistent|domain' [group='…'] [policy='pack|spread']/>
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
        let containers = domain.root.children("metadata").flatMap { $0.children("vgpus", namespace: namespace) }
        for device in containers.flatMap({ $0.children("device", namespace: namespace) }) {
            do { requests.append(try request(device)) } catch let error as VGPUError {
                problems.append("domain \(domain.name ?? "?"): vgpuctl metadata skipped: \(error.message)")
            } catch {}
        }
        return (requests, problems)
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
        return VGPURequest(uuid: uuid, type: type, lifetime: lifetime, group: device.attribute("group"), policy: policy)
    }

    /// The whole `<vgpu:vgpus>` element for `requests`, each device rendered from its template (escaped);
    /// nil when there is nothing to record (libvirt then removes the element).
    public static func element(_ requests: [VGPURequest], device template: Template) throws -> String? {
        guard !requests.isEmpty else { return nil }
        let devices = try requests.map { request in
            try template.render(["uuid": request.uuid.text, "type": request.type, "lifetime": request.lifetime.rawValue,
                                 "group": request.group ?? "", "policy": request.policy?.rawValue ?? ""]).trimmingWhitespace
        }
        return "<\(prefix):vgpus xmlns:\(prefix)='\(namespace)'>" + devices.joined() + "</\(prefix):vgpus>"
    }
}
