import Foundation
import Testing
import VGPUCore
@testable import VGPUHost

/// The journal writes its records with JSONWriter, the only JSON encoding of a plan; recovery reads them with
/// JSONDecoder (Plan is Decodable only). For every kind of step the bytes must stay those in
/// Expected/journal/records.jsonl (a member the writer misses, or spells differently, fails here) and decode back
/// to the same record.
@Suite struct JournalRecordTests {
    static let uuid = try! DeviceUUID(parsing: "0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50")
    static let escapes = "a/b\\c\"d\n\t\u{1}é 漢"
    static let definition = Definition(uuid: uuid, parent: "0000:3b:00.0", type: "nvidia-22", start: .manual, layout: .nvidiaVFIO,
                                       attributes: [.init(name: "vendor/x", value: escapes), .init(name: "b", value: "")])
    static let bare = VGPURequest(uuid: uuid, type: "mtty-1", lifetime: .domain)
    static let full = VGPURequest(uuid: uuid, type: "mtty-2", lifetime: .persistent, group: "g/1", policy: .spread, defined: .auto)

    /// One of every case (the writer's switch is exhaustive; this list must be too).
    static let everyStep: [Step] = [
        .createMdev(uuid: uuid, parent: "mtty", type: "mtty-1"), .removeMdev(uuid: uuid, parent: "mtty", type: "mtty-1"),
        .assignVF(vf: "0000:17:00.4", type: "nvidia-1414", uuid: uuid), .releaseVF(vf: "0000:17:00.4", type: "nvidia-1414", uuid: uuid),
        .attachHostdev(domain: "web01", uuid: uuid, xml: "<hostdev mode='subsystem'>\n  <a b=\"c\"/>\n</hostdev>", scope: .both),
        .detachHostdev(domain: "web01", uuid: uuid, xml: "<x/>", scope: .live),
        .writeDefinition(definition), .deleteDefinition(Definition(uuid: uuid, parent: "p", type: "t", start: .auto)),
        .addMigrationOverride(domain: "web01", alias: "ua-vgpu-x"), .removeMigrationOverride(domain: "web01", alias: "ua-vgpu-x"),
        .recordVGPU(domain: "web01", request: full), .forgetVGPU(domain: "web01", request: bare),
        .replaceDefinition(old: definition, new: Definition(uuid: uuid, parent: "p", type: "t", start: .auto)),
        .writeAttributes(uuid: uuid, parent: "mtty", layout: .mdev, attributes: definition.attributes),
        .keepAttributes(uuid: uuid, parent: "mtty", layout: .mdev, attributes: []),
        .bindVFIO(PassthroughRecord(address: "0000:42:00.0", driver: "bochs-drm", domain: escapes)),
        .restoreDriver(PassthroughRecord(address: "0000:42:00.1", driver: nil, domain: "web01", lifetime: .domain)),
        .attachPCI(domain: "web01", address: "0000:42:00.0", xml: "<hostdev type='pci'/>", scope: .config),
        .detachPCI(domain: "web01", address: "0000:42:00.1", xml: "<x/>", scope: .live),
    ]

    static let records: [Journal.Record] = everyStep.map {
        Journal.Record(id: "id", pid: 42, started: 1_700_000_000, command: "vgpuctl x", plan: Plan(operation: "op", steps: [$0]))
    } + [
        Journal.Record(id: "0b1e5c4e", pid: Int32.max, started: -1, command: escapes,
                       plan: Plan(operation: escapes, steps: everyStep, recovery: .rollForward)),
        Journal.Record(id: "", pid: 0, started: 0, command: "", plan: Plan(operation: "", steps: [])),
    ]

    @Test func everyStepIsWrittenAsStoredAndReadBack() throws {
        expectOutput(Self.records.map { $0.json + "\n" }.joined(), file: "journal/records.jsonl")
        for record in Self.records {
            #expect(try JSONDecoder().decode(Journal.Record.self, from: Data(record.json.utf8)) == record, "\(record.json.prefix(120))")
        }
    }
}
