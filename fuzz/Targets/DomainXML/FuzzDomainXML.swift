import FuzzSupport
import VGPUApp
import VGPUCore

/// The domain XML on the libvirt hook's stdin, through what the hook does with it (HookMain, LibvirtHook.run):
/// the quick pre-check on the raw bytes (`LibvirtHook.mayConcernVGPUs`), the XML reader and `DomainDocument`,
/// vgpuctl's metadata (`VGPUMetadata.requests`), the hook's plans for `prepare`, `release` and `migrate begin`
/// on a small host, and the rename `migrate begin` prints back to libvirt (`DomainEdits.renamingVGPUs`).
/// A refusal must be a VGPUError with a message and a fix; the pre-check must never skip a domain that has a
/// `<hostdev>`; a renamed document must read back with exactly the renamed UUIDs and nothing else changed.
@main enum FuzzDomainXML {
    static let what = "the domain XML libvirt passed to the hook"
    static func uuid(_ text: String) -> DeviceUUID { try! DeviceUUID(parsing: text) }
    /// The UUIDs the seed corpus uses: a vGPU that exists, one a running domain holds, one only defined.
    static let existing = uuid("0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50")
    static let held = uuid("1b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f51")
    static let defined = uuid("2b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f52")
    static let inventory = Inventory(
        parents: [Parent(name: "mtty", layout: .mdev, gpu: "mtty",
                         types: [VGPUType(id: "mtty-1", availableInstances: 6), VGPUType(id: "mtty-2", availableInstances: 2)])],
        vgpus: [VGPU(uuid: existing, parent: "mtty", type: "mtty-2", layout: .mdev, domains: ["hvm"]),
                VGPU(uuid: held, parent: "mtty", type: "mtty-1", layout: .mdev, domains: ["other"])],
        definitions: [Definition(uuid: defined, parent: "mtty", type: "mtty-1", start: .manual)])
    static let running: [HostdevSource: Set<String>] = [.mdev(held): ["other"]]

    static func main() {
        runFuzzer { bytes in
            let concerns = LibvirtHook.mayConcernVGPUs(bytes)
            let xml = text(bytes)
            let domain: DomainDocument
            do { domain = try DomainDocument(xml: xml, what: what) } catch {
                expectClearRefusal(error, prefix: what)
                return
            }
            if !concerns, !domain.root.children("devices").flatMap({ $0.children("hostdev") }).isEmpty {
                finding("the hook's pre-check skips a domain with a <hostdev>")
            }
            let (requests, problems) = VGPUMetadata.requests(in: domain)
            for problem in problems where !problem.hasPrefix("domain ") { finding("an unclear metadata problem: \(problem)") }

            do { _ = try HookPlanner.prepare(domain, inventory: inventory, running: running, config: PlacementConfig()) } catch {
                expectClearRefusal(error)
            }
            for reason in [HookPlanner.ReleaseReason.other, .migrated, .failed] {
                _ = HookPlanner.release(domain, inventory: inventory, running: running, reason: reason, incoming: domain.mdevUUIDs)
            }
            var fresh = 0
            let decided: MigrationPlanner.Incoming
            do {
                decided = try MigrationPlanner.incoming(domain, inventory: inventory, inUse: [held], config: PlacementConfig()) {
                    fresh += 1
                    let digits = String(fresh, radix: 16)
                    return uuid("ffffffff-0000-4000-8000-" + String(repeating: "0", count: 12 - digits.count) + digits)
                }
            } catch {
                expectClearRefusal(error)
                return
            }
            guard !decided.renames.isEmpty else { return }
            let renamed: DomainDocument
            do {
                renamed = try DomainDocument(xml: try DomainEdits.renamingVGPUs(in: xml, decided.renames, what: what), what: what)
            } catch { finding("the renamed XML does not read: \(error)") }
            let map = { (uuid: DeviceUUID) in decided.renames[uuid] ?? uuid }
            guard renamed.mdevUUIDs == domain.mdevUUIDs.map(map) else {
                finding("renamed hostdevs \(renamed.mdevUUIDs), expected \(domain.mdevUUIDs.map(map))")
            }
            let renamedRequests = VGPUMetadata.requests(in: renamed).requests
            guard renamedRequests.map(\.uuid) == requests.map(\.uuid).map(map), renamed.name == domain.name,
                  renamed.hostdevs.count == domain.hostdevs.count else {
                finding("the rename changed more than the UUIDs: \(renamedRequests) vs \(requests)")
            }
        }
    }
}
