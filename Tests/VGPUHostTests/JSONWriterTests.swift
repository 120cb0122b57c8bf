import Foundation
import Testing
import VGPUCore
import VGPUFixtures
import VGPUHost

/// `vgpuctl types --json` and `nodedevs --json` are written by `JSONWriter`, their only JSON encoding (Parent,
/// VGPUType and NodeDevice are not Encodable); the bytes must stay those in Expected/types-json/ and
/// Expected/nodedevs-json/ (scripts and the package tier compare them). They were JSONEncoder's
/// (`.prettyPrinted, .sortedKeys, .withoutEscapingSlashes`) when the files were written.
@Suite struct JSONWriterTests {
    func expectStored(_ parents: [Parent], _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        expectOutput(String(decoding: JSONWriter.parents(parents), as: UTF8.self) + "\n", file: "types-json/\(name).json",
                                 sourceLocation: sourceLocation)
    }

    @Test func fixtureHostsAreWrittenAsStored() throws {
        let builders: [(String, (String) throws -> SysfsTree)] = [
            ("samples", FixtureHosts.samples), ("nvidia-mdev", { try FixtureHosts.nvidiaMdev(at: $0) }),
            ("nvidia-vfio", { try FixtureHosts.nvidiaVFIO(at: $0, assigned: ["0000:17:00.5": 1416]) }),
            ("large-both", { try FixtureHosts.large(at: $0, gpus: 2, vfsPerGPU: 3, types: 4, layout: .both) }),
        ]
        for (name, build) in builders {
            let host = try TestHost(build)
            defer { host.remove() }
            try expectStored(try host.inventory().parents, name)
        }
    }

    @Test func emptyAndMissingMembersAreWrittenAsStored() throws {
        try expectStored([], "empty")
        try expectStored([Parent(name: "mdpy", layout: .mdev, gpu: "mdpy", types: [])], "no-types")
        try expectStored([Parent(name: "p", layout: .nvidiaVFIO, gpu: "g", vendor: "0x10de", numaNode: 0,
                                 types: [VGPUType(id: "t", availableInstances: 0), VGPUType(id: "u", name: "n", availableInstances: -1)])],
                         "missing-members")
    }

    @Test func everyEscapeIsWrittenAsStored() throws {
        // Every ASCII byte (control characters, quote, backslash, slash), multi-byte UTF-8 and a large number.
        let ascii = String(decoding: (0..<128).map { UInt8($0) }, as: UTF8.self)
        let strings = [ascii, "a/b\\c\"d", "é ü 漢字 🚀 \u{301}\u{2028}\u{FEFF}", "\r\n\t", ""]
        let parents = strings.enumerated().map { index, text in
            Parent(name: text, layout: .mdev, gpu: text, vendor: text, numaNode: index == 0 ? Int.max : index,
                   types: [VGPUType(id: text, name: text, description: text, deviceAPI: text, availableInstances: Int.min)])
        }
        try expectStored(parents, "escapes")
    }

    @Test(arguments: NodeDeviceSamples.all.indices)
    func nodeDevicesAreWrittenAsStored(_ index: Int) throws {
        expectOutput(String(decoding: JSONWriter.nodeDevices(NodeDeviceSamples.all[index]), as: UTF8.self) + "\n",
                                 file: "nodedevs-json/sample-\(index).json")
    }
}
