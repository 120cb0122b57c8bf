import Foundation
import Testing
@testable import VGPUApp
import VGPUCore
import VGPUFixtures
import VGPUHost

/// mdevctl's callouts and notifiers, and the OS boundary's process spawning they go through.
@Suite struct CalloutTests {
    let id = uuid("976d8cc2-4bfc-43b9-b9f9-f4af2de91ab9")

    /// Installs an executable shell script under the host root.
    func script(_ relative: String, in host: TestHost, _ body: String) throws {
        let path = host.root + "/" + relative
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
    }

    func session(_ host: TestHost) throws -> Session {
        try Session(environment: Environment(paths: host.paths, os: SimulatedKernel(tree: host.tree)), wait: 0, command: "test")
    }

    @Test func spawnCollectsStatusOutputAndStdinAndKillsAfterTheTimeout() throws {
        let os = LiveSystemCalls()
        let echo = try os.run("/bin/sh", arguments: ["-c", "cat; echo err >&2; exit 3"], stdin: "in\n", timeout: 5)
        #expect(echo == ProcessResult(status: 3, stdout: "in\n", stderr: "err\n"))
        // A child that never reads a large stdin, and one that outlives its time (with a grandchild holding the pipe).
        let ignores = try os.run("/bin/sh", arguments: ["-c", "exit 0"], stdin: String(repeating: "x", count: 1 << 20), timeout: 5)
        #expect(ignores.status == 0)
        let started = Date()
        let slow = try os.run("/bin/sh", arguments: ["-c", "sleep 30 & sleep 30"], stdin: "", timeout: 0.5)
        #expect(slow.timedOut && slow.signal == SIGKILL && slow.status == nil)
        #expect(Date().timeIntervalSince(started) < 5)
        let missing = #expect(throws: OSError.self) { try os.run("/nonexistent", arguments: [], stdin: "", timeout: 1) }
        #expect(missing?.errno == ENOENT)
        // Fault injection reaches spawning too.
        #expect(throws: OSError.self) { try FaultInjectingOS(failAt: 1).run("/bin/true", arguments: [], stdin: "", timeout: 1) }
    }

    @Test func calloutsGetMdevctlsArgumentsAndTheDeviceJSONAndNotifiersFollow() throws {
        let host = try TestHost()
        defer { host.remove() }
        let log = host.root + "/calls"
        try script("etc/mdevctl.d/scripts.d/callouts/50-log", in: host, "echo \"$*|$(cat)\" >> \(log)")
        try script("etc/mdevctl.d/scripts.d/notifiers/n", in: host, "echo \"notifier $*|$(cat)\" >> \(log)")
        try DefinitionStore(paths: host.paths, os: LiveSystemCalls()).write(
            Definition(uuid: id, parent: "mtty", type: "mtty-2", start: .manual, attributes: [.init(name: "vendor/test_attr", value: "v")]))
        try session(host).run(StartVGPU(id))
        let json = #"{"mdev_type":"mtty-2","start":"manual","attrs":[{"vendor/test_attr":"v"}]}"#
        let common = "-t mtty-2 -e %@ -a start -s %@ -u \(id.text) -p mtty"
        #expect(try String(contentsOfFile: log, encoding: .utf8) == [
            String(format: common, "pre", "none") + "|" + json,
            String(format: common, "post", "success") + "|" + json,
            "notifier " + String(format: common, "notify", "success") + "|",
        ].joined(separator: "\n") + "\n")
        #expect(host.contents("sys/bus/mdev/devices/\(id.text)/vendor/test_attr") == "v")

        // stop: what sysfs says (start manual, no attributes), as mdevctl's stop does.
        try FileManager.default.removeItem(atPath: log)
        try session(host).run(StopVGPU(id))
        let stop = try String(contentsOfFile: log, encoding: .utf8)
        #expect(stop.hasPrefix("-t mtty-2 -e pre -a stop -s none -u \(id.text) -p mtty|" + #"{"mdev_type":"mtty-2","start":"manual","attrs":[]}"#))
        #expect(Callouts.arguments(Callouts.Device(Definition(uuid: id, parent: "p", type: "t", start: .auto)), event: .get,
                                   action: .attributes, state: .none)
                == ["-t", "t", "-e", "get", "-a", "attributes", "-s", "none", "-u", id.text, "-p", "p"])
    }

    /// A pre callout that exits non-zero refuses: nothing changes, its message is in the error (exit 9);
    /// the notifiers hear of it with state none. One that exits 2 passes the device to the next script.
    @Test func aPreCalloutVetoesAndExitTwoMeansNotMine() throws {
        let host = try TestHost()
        defer { host.remove() }
        let log = host.root + "/calls"
        try script("etc/mdevctl.d/scripts.d/callouts/10-other-driver", in: host, "echo \"other $4\" >> \(log); exit 2")
        try script("etc/mdevctl.d/scripts.d/callouts/20-policy", in: host,
                   "cat >/dev/null; echo \"policy $4\" >> \(log); [ \"$4\" = pre ] && { echo 'no vGPUs on Fridays' >&2; exit 1; }; exit 0")
        try script("etc/mdevctl.d/scripts.d/callouts/30-never", in: host, "echo never >> \(log)")
        try script("etc/mdevctl.d/scripts.d/notifiers/n", in: host, "echo \"notify $8\" >> \(log)")
        try DefinitionStore(paths: host.paths, os: LiveSystemCalls()).write(Definition(uuid: id, parent: "mtty", type: "mtty-2", start: .manual))
        let before = host.snapshot()
        let error = #expect(throws: VGPUError.self) { try session(host).run(StartVGPU(id)) }
        #expect(error?.kind == .vetoed && error?.exitCode == 9)
        #expect(error?.message.contains("20-policy: no vGPUs on Fridays") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("exited with status 1") == true)
        #expect(error?.fix.hasPrefix("nothing was changed") == true)
        #expect(changes(before, host.snapshot()).filter { !$0.hasPrefix("calls") && !$0.hasPrefix("run/vgpuctl") } == [])
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "other pre\npolicy pre\nnotify none\n")

        // The same veto stops modify and undefine; a script that hangs is killed and refuses.
        #expect(throws: VGPUError.self) { try session(host).run(ModifyDefinition(id, parent: nil, change: DefinitionChange(start: .auto))) }
        try FileManager.default.removeItem(atPath: host.root + "/etc/mdevctl.d/scripts.d/callouts/20-policy")
        try script("etc/mdevctl.d/scripts.d/callouts/20-hangs", in: host, "sleep 60")
        let slow = Callouts(paths: host.paths, os: LiveSystemCalls(), timeout: 0.3)
        let hung = #expect(throws: VGPUError.self) {
            try slow.pre(.start, Callouts.Device(Definition(uuid: id, parent: "mtty", type: "mtty-2", start: .manual)))
        }
        #expect(hung?.message.contains("did not finish within 0.3 s and was killed") == true, "\(hung?.message ?? "")")
    }

    @Test func defineOfARunningVGPUAsksTheCalloutForItsAttributes() throws {
        let host = try TestHost()
        defer { host.remove() }
        // mdevctl's testdata/callouts/good-json.sh answers every event with one attribute.
        try script("etc/mdevctl.d/scripts.d/callouts/good-json.sh", in: host, #"printf "[{\"attribute0\": \"VALUE\"}]""#)
        let kernel = SimulatedKernel(tree: host.tree)
        try SysfsWriter(paths: host.paths, os: kernel).createMdev(id, parent: "mtty", type: "mtty-1")
        try session(host).run(DefineVGPU(type: "mtty-1", parent: "mtty", uuid: id, start: .manual))
        #expect(host.contents("etc/mdevctl.d/mtty/\(id.text)") ==
            "{\n  \"mdev_type\": \"mtty-1\",\n  \"start\": \"manual\",\n  \"attrs\": [\n    {\n      \"attribute0\": \"VALUE\"\n    }\n  ]\n}")

        // bad-json.sh: the define fails and writes nothing.
        let other = uuid("0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50")
        try SysfsWriter(paths: host.paths, os: kernel).createMdev(other, parent: "mtty", type: "mtty-1")
        try FileManager.default.removeItem(atPath: host.root + "/etc/mdevctl.d/scripts.d/callouts/good-json.sh")
        try script("etc/mdevctl.d/scripts.d/callouts/bad-json.sh", in: host, #"printf "not json""#)
        #expect(throws: VGPUError.self) { try session(host).run(DefineVGPU(type: "mtty-1", parent: "mtty", uuid: other, start: .manual)) }
        #expect(host.contents("etc/mdevctl.d/mtty/\(other.text)") == nil)
    }

    @Test func vfioVGPUsRunNoCallouts() throws {
        let host = try TestHost { try FixtureHosts.nvidiaVFIO(at: $0) }
        defer { host.remove() }
        try script("etc/mdevctl.d/scripts.d/callouts/veto", in: host, "exit 1")
        let session = try Session(environment: Environment(paths: host.paths, os: LiveSystemCalls()), wait: 0, command: "test")
        try session.run(DefineVGPU(type: "nvidia-1414", parent: "0000:17:00.4", uuid: id, start: .manual))
        #expect(host.contents("var/lib/vgpuctl/definitions/0000:17:00.4/\(id.text)") != nil)
    }
}
