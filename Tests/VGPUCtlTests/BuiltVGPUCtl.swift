import Foundation

/// The vgpuctl built next to this test bundle, run as an operator runs it: vgpuctl's variables and COLUMNS unset,
/// standard input empty, both outputs to files in a scratch directory (a pipe could fill and block the child).
enum BuiltVGPUCtl {
    struct Result {
        var status: Int32
        var out: Data
        var err: Data
        var outText: String { String(decoding: out, as: UTF8.self) }
        var errText: String { String(decoding: err, as: UTF8.self) }
    }

    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("vgpuctl")
    }

    /// Runs it with `arguments`, `environment` added to the test's own; the output files go in `scratch` (each call
    /// has its own, so tests may run at once).
    static func run(_ arguments: [String], environment: [String: String] = [:], scratch: String) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VGPUCTL_") && $0.key != "COLUMNS" }
        env.merge(environment) { $1 }
        process.environment = env
        let id = UUID().uuidString
        let (outPath, errPath) = (scratch + "/stdout-" + id, scratch + "/stderr-" + id)
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, out: try Data(contentsOf: URL(fileURLWithPath: outPath)),
                      err: try Data(contentsOf: URL(fileURLWithPath: errPath)))
    }
}
