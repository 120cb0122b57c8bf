import Foundation
import Testing
import VGPUApp
import VGPUCore
import VGPUFixtures
import VGPUHost

/// `apply --from-vgpu-device-manager`: vgpuctl runs the built `vgpu-layout-import` as a child and decodes its
/// reply; the reader's refusals come back as the same typed errors; a missing, hung or broken reader is named.
@Suite struct LayoutImportTests {
    /// The reader SwiftPM built beside this test binary.
    static let reader = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("vgpu-layout-import").path

    func write(_ text: String, in host: TestHost, name: String = "config.yaml", mode: Int = 0o644) throws -> String {
        let path = host.directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    /// Reads `file`'s `label` with the reader `executable`.
    func read(_ host: TestHost, _ file: String, label: String?, reader executable: String = reader, timeout: Double = 60) throws -> DeclaredLayout {
        try ImportVGPUDeviceManagerLayout(file: file, label: label, reader: executable, timeout: timeout)
            .read(in: Environment(paths: host.paths, os: LiveSystemCalls()))
    }

    @Test func aLabelIsAppliedThroughTheReaderAsANativeLayoutWouldBe() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.reader), "build the vgpu-layout-import product")
        let host = try TestHost { try FixtureHosts.large(at: $0, gpus: 2, vfsPerGPU: 2, types: 3) }
        let file = try write("""
            version: v1
            vgpu-configs:
              second:
                - devices: [1]
                  vgpu-devices:
                    A100-2-40C: 2
              other:
                - devices: all
                  vgpu-devices: {}
            """, in: host)
        let layout = try read(host, file, label: "second")
        #expect(layout == DeclaredLayout(name: "second", entries: [
            .init(gpus: .indices([1]), vgpus: [.init(type: "A100-2-40C", count: 2)], origin: "\(file):4"),
        ]))
        let environment = Environment(paths: host.paths, os: SimulatedKernel(tree: host.tree), libvirtURI: "test:///nonexistent-apply")
        let outcome = try Application(environment: environment, lockWait: 0, command: "test")
            .perform(ApplyDeclaredLayout(.vgpuDeviceManager(file: file, label: "second", reader: Self.reader)))
        #expect(outcome.result.gpus.map(\.gpu) == ["0000:27:00.0"])
        let vgpus = try host.inventory().vgpus
        #expect(vgpus.count == 2 && vgpus.allSatisfy { $0.type == "nvidia-501" })
    }

    @Test func theReadersRefusalsComeBackAsTheSameErrors() throws {
        let host = try TestHost()
        let wrongVersion = try write("version: v2\nvgpu-configs:\n  a:\n    - devices: all\n      vgpu-devices: {}\n", in: host)
        let version = #expect(throws: VGPUError.self) { try read(host, wrongVersion, label: "a") }
        #expect(version?.kind == .invalidInput)
        #expect(version?.message.contains("\(wrongVersion):1") == true, "\(version?.message ?? "")")

        let good = try write("version: v1\nvgpu-configs:\n  a:\n    - devices: all\n      vgpu-devices: {}\n  b:\n    - devices: [0]\n      vgpu-devices: {}\n", in: host, name: "good.yaml")
        let noLabel = #expect(throws: VGPUError.self) { try read(host, good, label: nil) }
        #expect(noLabel?.kind == .invalidInput && noLabel?.fix.contains("a, b") == true)

        let missing = #expect(throws: VGPUError.self) { try read(host, host.directory + "/nosuch.yaml", label: "a") }
        #expect(missing?.kind == .notFound && missing?.message.contains("nosuch.yaml") == true)
    }

    @Test func aMissingHungOrBrokenReaderIsNamed() throws {
        let host = try TestHost()
        let file = try write("version: v1\n", in: host)
        let absent = #expect(throws: VGPUError.self) { try read(host, file, label: "a", reader: host.directory + "/nosuch-reader") }
        #expect(absent?.kind == .host && absent?.fix.contains("VGPUCTL_LAYOUT_IMPORT") == true)

        let hung = try write("#!/bin/sh\nexec sleep 30\n", in: host, name: "hung.sh", mode: 0o755)
        let start = Date()
        let timedOut = #expect(throws: VGPUError.self) { try read(host, file, label: "a", reader: hung, timeout: 0.5) }
        #expect(Date().timeIntervalSince(start) < 10, "the child is killed at its deadline")
        #expect(timedOut?.kind == .host && timedOut?.message.contains("within 0 s") == false && timedOut?.message.contains("killed") == true)

        let broken = try write("#!/bin/sh\necho not json; echo oops >&2; exit 1\n", in: host, name: "broken.sh", mode: 0o755)
        let garbage = #expect(throws: VGPUError.self) { try read(host, file, label: "a", reader: broken) }
        #expect(garbage?.kind == .internalError && garbage?.message.contains("oops") == true)
    }
}
