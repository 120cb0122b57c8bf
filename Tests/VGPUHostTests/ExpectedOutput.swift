import Foundation
import Testing

/// Expected outputs live in files under Tests/VGPUHostTests/Expected/, never pasted into a test as literals.
/// `VGPUCTL_TEST_REGENERATE_OUTPUT=1 swift test --filter …` rewrites them from what the code does now (then read
/// the diff before committing it), as mdevctl's MDEVCTL_TEST_REGENERATE_OUTPUT does.
enum ExpectedOutput {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Expected")
    static var regenerating: Bool { ProcessInfo.processInfo.environment["VGPUCTL_TEST_REGENERATE_OUTPUT"] != nil }

    static func check(_ actual: String, file: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let url = directory.appendingPathComponent(file)
        if regenerating {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try actual.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
            Issue.record("no expected output \(url.path): run with VGPUCTL_TEST_REGENERATE_OUTPUT=1 to write it", sourceLocation: sourceLocation)
            return
        }
        #expect(actual == expected, "differs from \(url.path) (VGPUCTL_TEST_REGENERATE_OUTPUT=1 rewrites it)", sourceLocation: sourceLocation)
    }
}
