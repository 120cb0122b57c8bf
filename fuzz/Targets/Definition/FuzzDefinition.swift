import FuzzSupport
import VGPUCore
import VGPUHost

/// A definition file in mdevctl's format (/etc/mdevctl.d/PARENT/UUID, and vgpuctl's own under
/// /var/lib/vgpuctl/definitions): `DefinitionStore.decode`, what `DefinitionStore.all` calls for each file
/// (a refusal there becomes a warning naming the file). A definition read must survive being written back
/// (`encode`, what `modify` and `define` write) and read again unchanged, and its attributes either pass the
/// check made before they are written into sysfs or are refused with a message.
@main enum FuzzDefinition {
    static let uuid = try! DeviceUUID(parsing: "0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50")
    static let path = "/etc/mdevctl.d/mtty/0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50"

    static func main() {
        runFuzzer { bytes in
            let definition: Definition
            do { definition = try DefinitionStore.decode(text(bytes), uuid: uuid, parent: "mtty", layout: .mdev, path: path) } catch {
                expectClearRefusal(error, prefix: path + ":")
                return
            }
            let written = DefinitionStore.encode(definition)
            do {
                let again = try DefinitionStore.decode(written, uuid: uuid, parent: "mtty", layout: .mdev, path: path)
                guard again == definition else { finding("read back differently:\n\(written)\n\(again)\n\(definition)") }
            } catch { finding("what encode wrote is refused: \(error)\n\(written)") }
            _ = DefinitionStore.compactJSON(definition)
            do { try Validation.attributes(definition.attributes) } catch { expectClearRefusal(error) }
        }
    }
}
