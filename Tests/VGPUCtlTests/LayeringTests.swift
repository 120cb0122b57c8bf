import Foundation
import Testing

/// The layering the compiler cannot keep: SwiftPM makes a transitive dependency's module importable, so nothing
/// stops a front end from importing VGPUHost but this test. Front ends (vgpuctl, vgpud, VGPUDaemon) reach the
/// host only through VGPUApp; environment variables are read in one place, `Environment.Variables.process`.
@Suite struct LayeringTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// The front ends' source directories and their targets in Package.swift.
    static let frontEnds = ["vgpuctl", "vgpuctl-main", "vgpuctl-help-text", "vgpud", "VGPUDaemon"]
    static let frontEndTargets = ["VGPUCtlCommands", "vgpuctl", "vgpud", "VGPUDaemon"]
    /// The only file of the product that may read the process's environment.
    static let environmentFile = "Sources/VGPUApp/Environment.swift"

    /// Every Swift file under Sources/`target`, relative to the repository.
    static func swiftFiles(under target: String) throws -> [String] {
        let base = repository.appendingPathComponent("Sources/" + target)
        guard let walker = FileManager.default.enumerator(atPath: base.path) else { return [] }
        return walker.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }.map { "Sources/\(target)/\($0)" }.sorted()
    }

    static func text(_ relative: String) throws -> String {
        try String(contentsOf: repository.appendingPathComponent(relative), encoding: .utf8)
    }

    /// The names a file imports, whatever the attributes or kind (`@testable import`, `import struct M.T`).
    static func imports(_ text: String) -> [String] {
        text.split(separator: "\n").compactMap { line in
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).filter { !$0.hasPrefix("@") }
            guard words.first == "import", words.count >= 2 else { return nil }
            let module = words.count >= 3 && ["struct", "class", "enum", "protocol", "func", "var", "let", "typealias"].contains(String(words[1]))
                ? words[2] : words[1]
            return String(module.split(separator: ".")[0])
        }
    }

    @Test(arguments: frontEnds)
    func noFrontEndFileImportsTheAdapters(target: String) throws {
        let files = try Self.swiftFiles(under: target)
        #expect(!files.isEmpty, "no sources found for \(target) under \(Self.repository.path)")
        for file in files {
            let imported = Self.imports(try Self.text(file))
            #expect(!imported.contains("VGPUHost"), "\(file) imports VGPUHost: go through VGPUApp (a use case, or ProcessServices)")
        }
    }

    @Test func theImportReaderSeesEveryForm() {
        #expect(Self.imports("import VGPUHost\n@testable import VGPUHost\nimport struct VGPUHost.HostPaths\n  @_implementationOnly import VGPUHost")
                == ["VGPUHost", "VGPUHost", "VGPUHost", "VGPUHost"])
        #expect(Self.imports("// import VGPUHost\nlet x = \"import VGPUHost\"") == [])
    }

    @Test func noFrontEndTargetDependsOnTheAdapters() throws {
        let manifest = try Self.text("Package.swift")
        for target in Self.frontEndTargets {
            guard let start = manifest.range(of: "name: \"\(target)\", dependencies: [") else {
                Issue.record("Package.swift declares no target \(target)")
                continue
            }
            let end = manifest.range(of: "]),", range: start.upperBound..<manifest.endIndex)?.lowerBound ?? manifest.endIndex
            let dependencies = manifest[start.upperBound..<end]
            #expect(!dependencies.contains("\"VGPUHost\""), "\(target) depends on VGPUHost in Package.swift")
            #expect(dependencies.contains("\"VGPUApp\""), "\(target) does not depend on VGPUApp")
        }
    }

    @Test func onlyTheEnvironmentReadsEnvironmentVariables() throws {
        let targets = try FileManager.default.contentsOfDirectory(atPath: Self.repository.appendingPathComponent("Sources").path).sorted()
        var checked = 0
        for target in targets {
            for file in try Self.swiftFiles(under: target) where file != Self.environmentFile {
                checked += 1
                let code = try Self.text(file).split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("//") }
                for line in code where ["getenv(", "ProcessInfo.processInfo.environment", "environ["].contains(where: line.contains) {
                    Issue.record("\(file) reads the environment (\(line.trimmingCharacters(in: .whitespaces))): take it from Environment")
                }
            }
        }
        #expect(checked > 100, "only \(checked) source files found")
        #expect(try Self.text(Self.environmentFile).contains("getenv("), "the one reader moved: update this test")
    }
}
