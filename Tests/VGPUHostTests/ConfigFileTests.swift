import Foundation
import Testing
@testable import VGPUApp
import VGPUCore
import VGPUHost

/// The config file as the commands read it: its raw bytes reach the parser, so a byte that is not UTF-8 is
/// refused with its line instead of becoming U+FFFD inside a value.
@Suite struct ConfigFileTests {
    func context(writing bytes: [UInt8]) throws -> (TestHost, Environment) {
        let host = try TestHost()
        let file = host.directory + "/vgpuctl.conf"
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return (host, Environment(paths: host.paths, os: LiveSystemCalls(), configFile: file))
    }

    @Test func aValidFileIsRead() throws {
        let (host, context) = try context(writing: Array("[groups.training]\ngpus = [\"0000:17:00.0\"]\n".utf8))
        let groups = try context.placementConfig().groups
        #expect(groups.first { $0.name == "training" }?.gpus == ["0000:17:00.0"], "\(groups)")
        host.remove()
    }

    @Test func invalidUTF8IsRefusedWithItsLine() throws {
        let (host, context) = try context(writing: Array("layout = \"a\"\n# caf".utf8) + [0xFF] + Array("\n".utf8))
        let error = try #require(throws: VGPUError.self) { try context.placementConfig() }
        #expect(error.message.contains(context.configFile + ":2"), "\(error.message)")
        host.remove()
    }
}
