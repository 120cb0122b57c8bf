import Foundation
import Testing
import VGPUCore

/// The JSON `vgpu-layout-import` prints and vgpuctl reads: every selector survives the trip, an error comes back
/// as the same typed error, and a malformed selector is refused.
@Suite struct LayoutImportReplyTests {
    @Test func everySelectorAndAnErrorSurviveTheTrip() throws {
        let layout = DeclaredLayout(name: "mixed", entries: [
            .init(gpus: .all, deviceFilter: ["0x20b510de:0x169d10de"], vgpus: [.init(type: "A100-4C", count: 10)], origin: "c.yaml:4"),
            .init(gpus: .indices([0, 2]), vgpus: [], origin: "c.yaml:8"),
            .init(gpus: .gpus(["0000:17:00.0"]), vgpus: [.init(type: "nvidia-500", count: 1), .init(type: "A100-1-5C", count: 2)], origin: ""),
            .init(gpus: .group("training"), vgpus: [.init(type: "A100-10C", count: 2)], origin: "x"),
        ])
        let data = try JSONEncoder().encode(LayoutImportReply(layout: layout))
        #expect(try JSONDecoder().decode(LayoutImportReply.self, from: data).get() == layout)

        let error = VGPUError(.invalidInput, "c.yaml:3: version v2 is not v1", fix: "write version: v1")
        let reply = try JSONDecoder().decode(LayoutImportReply.self, from: JSONEncoder().encode(LayoutImportReply(error: error)))
        #expect(throws: error) { try reply.get() }
    }

    @Test func theWireFormatIsTheDocumentedOne() throws {
        let text = #"{"layout":{"name":"small","entries":[{"devices":{"indices":[0,1]},"device_filter":["0x20b510de"],"vgpus":[{"type":"A100-4C","count":8}],"origin":"f:5"}]}}"#
        let layout = try JSONDecoder().decode(LayoutImportReply.self, from: Data(text.utf8)).get()
        #expect(layout == DeclaredLayout(name: "small", entries: [
            .init(gpus: .indices([0, 1]), deviceFilter: ["0x20b510de"], vgpus: [.init(type: "A100-4C", count: 8)], origin: "f:5"),
        ]))
    }

    @Test(arguments: [#"{}"#, #"{"all":false}"#, #"{"all":true,"gpus":["a"]}"#, #"{"gpus":"a"}"#])
    func aMalformedSelectorIsRefused(devices: String) {
        let text = #"{"layout":{"name":"x","entries":[{"devices":\#(devices),"vgpus":[]}]}}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(LayoutImportReply.self, from: Data(text.utf8)) }
    }
}
