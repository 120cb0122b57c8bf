import Foundation
import Testing
import VGPUCore
import VGPUFixtures
import VGPUHost

/// `vgpuctl types --json` is written by `JSONWriter`, not JSONEncoder; the bytes must stay exactly JSONEncoder's
/// (scripts and tests compare them).
@Suite struct JSONWriterTests {
    func encoderBytes(_ parents: [Parent]) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(parents))
    }

    func expectSameBytes(_ parents: [Parent], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let ours = JSONWriter.parents(parents), theirs = try encoderBytes(parents)
        #expect(ours == theirs, "JSONWriter:\n\(String(decoding: ours, as: UTF8.self))\nJSONEncoder:\n\(String(decoding: theirs, as: UTF8.self))",
                sourceLocation: sourceLocation)
    }

    @Test func fixtureHostsMatchJSONEncoder() throws {
        let builders: [(String) throws -> SysfsTree] = [
            FixtureHosts.samples, { try FixtureHosts.nvidiaMdev(at: $0) },
            { try FixtureHosts.nvidiaVFIO(at: $0, assigned: ["0000:17:00.5": 1416]) },
            { try FixtureHosts.large(at: $0, gpus: 2, vfsPerGPU: 3, types: 4, layout: .both) },
        ]
        for build in builders {
            try expectSameBytes(try TestHost(build).inventory().parents)
        }
    }

    @Test func emptyAndMissingMembersMatchJSONEncoder() throws {
        try expectSameBytes([])
        try expectSameBytes([Parent(name: "mdpy", layout: .mdev, gpu: "mdpy", types: [])])
        try expectSameBytes([Parent(name: "p", layout: .nvidiaVFIO, gpu: "g", vendor: "0x10de", numaNode: 0,
                                    types: [VGPUType(id: "t", availableInstances: 0), VGPUType(id: "u", name: "n", availableInstances: -1)])])
    }

    @Test func everyEscapeMatchesJSONEncoder() throws {
        // Every ASCII byte (control characters, quote, backslash, slash), multi-byte UTF-8 and a large number.
        let ascii = String(decoding: (0..<128).map { UInt8($0) }, as: UTF8.self)
        let strings = [ascii, "a/b\\c\"d", "é ü 漢字 🚀 \u{301}\u{2028}\u{FEFF}", "\r\n\t", ""]
        let parents = strings.enumerated().map { index, text in
            Parent(name: text, layout: .mdev, gpu: text, vendor: text, numaNode: index == 0 ? Int.max : index,
                   types: [VGPUType(id: text, name: text, description: text, deviceAPI: text, availableInstances: Int.min)])
        }
        try expectSameBytes(parents)
    }
}
