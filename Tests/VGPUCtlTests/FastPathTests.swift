import Foundation
import Testing
import VGPUFixtures
@testable import VGPUCtlCommands

/// The fast path (Sources/vgpuctl/FastPath) must be invisible: for every argument vector, the built vgpuctl prints
/// the same bytes on both outputs and exits with the same code as with `VGPUCTL_NO_FAST_PATH=1` (ArgumentParser
/// only). The table holds the forms the fast path takes and look-alikes it must leave to ArgumentParser.
@Suite final class FastPathTests {
    let directory = NSTemporaryDirectory() + "vgpuctl-fastpath-" + UUID().uuidString

    init() throws {
        do {
            _ = try FixtureHosts.samples(at: directory + "/root/sys")
            try FileManager.default.createDirectory(atPath: directory + "/empty", withIntermediateDirectories: true)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    @Test func fastFormsPrintWhatArgumentParserPrints() throws {
        let (root, sys, empty) = (directory + "/root", directory + "/root/sys", directory + "/empty")
        let host = ["--root", root, "--sysfs-root", sys]
        let test = ["--connect", "test:///default"]
        let taken: [[String]] = [
            ["types"] + host, ["types", "--json"] + host, ["types", "--sysfs-root", sys, "--json", "--root", root],
            ["types", "--parent", "mdpy"] + host, ["types", "--json", "--parent", "mtty", "--sysfs-root", sys],
            ["types", "--parent", "nosuch"] + host, ["types", "--sysfs-root", empty, "--root", empty],
            ["types", "--sysfs-root", directory + "/missing", "--root", empty],
            ["create", "--type", "nosuch-1", "--vm", "test"] + host + test,
            ["create", "--vm", "nosuch", "--type", "mtty-1"] + host + test,
            ["destroy", "--vm", "test"] + host + test, ["destroy", "--vm", "nosuch"] + test + host,
        ]
        let leftToArgumentParser: [[String]] = [
            [], ["typo"], ["types", "--json", "--json"] + host, ["types", "--root"], ["types", "--root", "--json"],
            ["types", "--root=" + root], ["types", "--root", ""], ["types", "--parent", "../x"], ["types", "--parent", "a/b"],
            ["types", "--bogus"], ["types", "--", "x"], ["types", "extra"] + host, ["types", "-h"], ["types", "--help"],
            ["types", "--json", "--sysfs-root", sys, "--sysfs-root", sys], ["help"], ["--help", "types"], ["-h", "-h"],
            ["--verbose"], ["create", "--vm", "x"] + host, ["create", "--type", "bad/type", "--vm", "x"] + host,
            ["create", "--type", "mtty-1", "--vm", "bad/name"] + host, ["create", "--type", "mtty-1", "--vm", "x", "--json"] + host + test,
            ["create", "--type", "mtty-1", "--vm", "-x"] + host, ["destroy"], ["destroy", "--vm", "a/b"] + host,
            ["destroy", "--vm", "x", "--wait", "-1"] + host, ["list", "--json"] + host,
        ]
        for arguments in taken {
            #expect(FastPath.command(arguments) != nil, "the fast path should take \(arguments)")
        }
        for arguments in leftToArgumentParser {
            #expect(FastPath.command(arguments) == nil, "the fast path should leave \(arguments) to ArgumentParser")
        }
        for arguments in taken + leftToArgumentParser + [["--help"], ["-h"], ["--version"]] {
            let fast = try run(arguments)
            let slow = try run(arguments, environment: ["VGPUCTL_NO_FAST_PATH": "1"])
            #expect(fast.status == slow.status, "exit code of \(arguments)")
            #expect(fast.out == slow.out, "standard output of \(arguments)")
            #expect(fast.err == slow.err, "standard error of \(arguments)")
        }
    }

    /// The fast path's `--help` (written at build time) is ArgumentParser's at 80 columns: the same bytes as the
    /// binary prints through ArgumentParser, and what the declarations render now.
    @Test func helpTextIsArgumentParsers() throws {
        let fast = try run(["--help"]), slow = try run(["--help"], environment: ["VGPUCTL_NO_FAST_PATH": "1"])
        #expect(fast.status == 0 && slow.status == 0)
        let text = String(decoding: fast.out, as: UTF8.self)
        #expect(text == String(decoding: slow.out, as: UTF8.self))
        #expect(text == CommandLineEntry.helpText(columns: 80))
        #expect(text.contains("USAGE: vgpuctl <subcommand>") && text.contains("SUBCOMMANDS:"), "\(text)")
        for line in text.split(separator: "\n") { #expect(line.count <= 80, "\(line)") }
    }

    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, out: Data, err: Data) {
        let result = try BuiltVGPUCtl.run(arguments, environment: environment, scratch: directory)
        return (result.status, result.out, result.err)
    }
}
