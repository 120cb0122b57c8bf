import Foundation
import Testing
import VGPUFixtures

/// `vgpuctl gpus` as an operator runs it: the built binary on the lab fixture prints exactly the expected files the
/// fixture tests keep (Tests/VGPUHostTests/Expected/gpus/), and a missing sysfs exits 8 with a fix.
@Suite final class GPUsCommandTests {
    let directory = NSTemporaryDirectory() + "vgpuctl-gpus-" + UUID().uuidString

    init() throws {
        do { _ = try FixtureHosts.pciLab(at: directory + "/root/sys", cpuVendor: "GenuineIntel") } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func expected(_ name: String) throws -> String {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../VGPUHostTests/Expected/gpus/\(name)").standardized.path
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    @Test func textAndJSONAreTheExpectedOutputs() throws {
        let host = ["--root", directory + "/root", "--sysfs-root", directory + "/root/sys"]
        let text = try run(["gpus"] + host)
        #expect(text.status == 0 && text.err.isEmpty)
        let (expectedText, expectedJSON) = (try expected("lab.txt"), try expected("lab.json"))
        #expect(text.out == expectedText)
        let json = try run(["gpus", "--json"] + host)
        #expect(json.status == 0)
        #expect(json.out == expectedJSON)
    }

    @Test func aMissingSysfsExitsEight() throws {
        let result = try run(["gpus", "--sysfs-root", directory + "/missing", "--root", directory])
        #expect(result.status == 8)
        #expect(result.err.contains("is not a directory") && result.err.contains("fix:"))
        let bogus = try run(["gpus", "--bogus"])
        #expect(bogus.status == 2)
    }

    func run(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let result = try BuiltVGPUCtl.run(arguments, scratch: directory)
        return (result.status, result.outText, result.errText)
    }
}
