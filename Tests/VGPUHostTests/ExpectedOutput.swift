import Foundation
import Testing

/// Compares an output with its expected file under `Tests/VGPUHostTests/Expected/`. With
/// `VGPUCTL_TEST_REGENERATE_OUTPUT=1` in the environment it writes the file instead (review the diff, then commit).
func expectOutput(_ actual: String, file name: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Expected/\(name)").path
    if ProcessInfo.processInfo.environment["VGPUCTL_TEST_REGENERATE_OUTPUT"] != nil {
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(actual.utf8)), "could not write \(path)", sourceLocation: sourceLocation)
        return
    }
    guard let expected = try? String(contentsOfFile: path, encoding: .utf8) else {
        Issue.record("no expected output \(path): run with VGPUCTL_TEST_REGENERATE_OUTPUT=1 to write it", sourceLocation: sourceLocation)
        return
    }
    if expected != actual {
        let lines = zip(expected.split(separator: "\n", omittingEmptySubsequences: false), actual.split(separator: "\n", omittingEmptySubsequences: false))
        let first = lines.enumerated().first { $0.element.0 != $0.element.1 }
        Issue.record("""
            output differs from \(path) (VGPUCTL_TEST_REGENERATE_OUTPUT=1 rewrites it)
            first difference at line \((first?.offset ?? 0) + 1):
              expected: \(first.map { String($0.element.0) } ?? "(end)")
              actual:   \(first.map { String($0.element.1) } ?? "(end)")
            """, sourceLocation: sourceLocation)
    }
}

/// `Tests/VGPUHostTests/Expected/`, for files that are inputs as well as expected outputs (mdevctl's testdata).
let expectedOutputDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Expected")
