import Foundation
import Testing
import VGPUCore
import VGPUFixtures
import VGPUHost

@Suite struct DefinitionStoreTests {
    let id = uuid("0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50")

    @Test func mdevDefinitionsAreWrittenWhereAndAsMdevctlKeepsThem() throws {
        let host = try TestHost()
        let store = DefinitionStore(paths: host.paths, os: LiveSystemCalls())
        try store.write(Definition(uuid: id, parent: "mtty", type: "mtty-2", start: .auto))
        let text = try #require(host.contents("etc/mdevctl.d/mtty/\(id.text)"))
        // Byte for byte what mdevctl writes (serde_json's pretty printer: no newline at the end).
        #expect(text == "{\n  \"mdev_type\": \"mtty-2\",\n  \"start\": \"auto\",\n  \"attrs\": []\n}")
        // What mdevctl 1.2 writes, attrs included, reads back.
        let mdevctls = "{\n  \"mdev_type\": \"mdpy-vga\",\n  \"start\": \"manual\",\n  \"attrs\": [\n    {\n      \"foo\": \"1\"\n    }\n  ]\n}"
        try FileManager.default.createDirectory(atPath: host.root + "/etc/mdevctl.d/mdpy", withIntermediateDirectories: true)
        let other = uuid("1c2f6d5f-3e5b-4c9f-8c4f-6b2d3e4f5061")
        try mdevctls.write(toFile: host.root + "/etc/mdevctl.d/mdpy/\(other.text)", atomically: false, encoding: .utf8)
        let (definitions, problems) = store.all()
        #expect(problems == [])
        #expect(definitions.contains(Definition(uuid: other, parent: "mdpy", type: "mdpy-vga", start: .manual,
                                                attributes: [.init(name: "foo", value: "1")])))
        try store.delete(definitions.first { $0.uuid == id }!)
        try store.delete(Definition(uuid: id, parent: "mtty", type: "mtty-2", start: .auto))  // already gone: fine
        #expect(host.contents("etc/mdevctl.d/mtty/\(id.text)") == nil)
    }

    @Test func vfioDefinitionsLiveInVgpuctlsOwnStore() throws {
        let host = try TestHost { try FixtureHosts.nvidiaVFIO(at: $0) }
        let store = DefinitionStore(paths: host.paths, os: LiveSystemCalls())
        let definition = Definition(uuid: id, parent: "0000:17:00.4", type: "nvidia-1414", start: .manual, layout: .nvidiaVFIO)
        try store.write(definition)
        #expect(host.contents("var/lib/vgpuctl/definitions/0000:17:00.4/\(id.text)")?.contains("nvidia-1414") == true)
        #expect(host.contents("etc/mdevctl.d/0000:17:00.4/\(id.text)") == nil, "mdevctl would try to start it as an mdev")
        #expect(store.all().definitions == [definition])
    }

    @Test func badFilesAreReportedNotFatalAndTemporariesAreInvisible() throws {
        let host = try TestHost()
        let directory = host.root + "/etc/mdevctl.d/mtty"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "{\"mdev_type\": \"mtty-1\", \"start\": \"sometimes\"}".write(toFile: "\(directory)/\(id.text)", atomically: false, encoding: .utf8)
        try "not json".write(toFile: "\(directory)/1c2f6d5f-3e5b-4c9f-8c4f-6b2d3e4f5061", atomically: false, encoding: .utf8)
        try "x".write(toFile: "\(directory)/README", atomically: false, encoding: .utf8)
        try "x".write(toFile: "\(directory)/.\(id.text).vgpuctl-tmp", atomically: false, encoding: .utf8)
        let (definitions, problems) = DefinitionStore(paths: host.paths, os: LiveSystemCalls()).all()
        #expect(definitions.isEmpty)
        #expect(problems.count == 3)
        #expect(problems.contains { $0.contains(id.text) && $0.contains("start is 'sometimes'") })
        #expect(problems.contains { $0.contains("README") && $0.contains("not a lower-case UUID") })
        #expect(!problems.contains { $0.contains("vgpuctl-tmp") })
        // Recovery sweeps the temporary a crash left.
        #expect(Journal(paths: host.paths, os: LiveSystemCalls()).sweepTemporaries() == ["\(directory)/.\(id.text).vgpuctl-tmp"])
    }

    /// Found by fuzzing (scripts/fuzz.sh): a bad mdev_type was reported without the file's name.
    @Test func aBadTypeIsReportedWithTheFile() throws {
        let path = "/etc/mdevctl.d/mtty/\(id.text)"
        for type in ["a/b", "..", String(repeating: "x", count: 256), "mtty\u{1}"] {
            let file = DefinitionStore.compactJSON(Definition(uuid: id, parent: "mtty", type: type, start: .auto))
            #expect { try DefinitionStore.decode(file, uuid: id, parent: "mtty", layout: .mdev, path: path) } throws: { error in
                (error as? VGPUError)?.message.hasPrefix("\(path): type '") == true && (error as? VGPUError)?.fix.isEmpty == false
            }
        }
    }
}

@Suite struct HostLockTests {
    @Test func aSecondHolderIsRefusedAtOnceWithTheFirstOnesName() throws {
        let host = try TestHost()
        let first = try HostLock.acquire(paths: host.paths, os: LiveSystemCalls(), wait: 0, holder: "vgpuctl create --type mtty-1")
        // flock conflicts between two open file descriptions, even in one process.
        let error = #expect(throws: VGPUError.self) {
            try HostLock.acquire(paths: host.paths, os: LiveSystemCalls(), wait: 0, holder: "vgpuctl remove x")
        }
        #expect(error?.kind == .busy)
        #expect(error?.message.contains("pid \(getpid())") == true)
        #expect(error?.message.contains("vgpuctl create --type mtty-1") == true, "\(error?.message ?? "")")
        _ = first
    }

    @Test func aWaiterGetsTheLockWhenTheHolderLetsGo() throws {
        let host = try TestHost()
        // Another process (util-linux flock) holds the lock for 0.5 s.
        try FileManager.default.createDirectory(atPath: host.root + "/run/vgpuctl", withIntermediateDirectories: true)
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = [host.root + "/run/vgpuctl/lock", "sleep", "0.5"]
        try holder.run()
        usleep(150_000)
        #expect(throws: VGPUError.self) { try HostLock.acquire(paths: host.paths, os: LiveSystemCalls(), wait: 0, holder: "second") }
        let started = Date()
        let second = try HostLock.acquire(paths: host.paths, os: LiveSystemCalls(), wait: 5, holder: "second")
        #expect(Date().timeIntervalSince(started) > 0.1, "it waited for the holder")
        #expect(host.contents("run/vgpuctl/lock.holder")?.hasSuffix(": second\n") == true)
        holder.waitUntilExit()
        _ = second
    }
}

@Suite struct DeviceHoldersTests {
    /// A /proc tree where pid 4242 (qemu-system-x86) holds /dev/vfio/17 and pid 7 holds something else.
    @Test func theProcessHoldingTheGroupIsNamed() throws {
        let host = try TestHost()
        let files = FileManager.default
        for (pid, comm, targets) in [(4242, "qemu-system-x86", ["/dev/null", "/dev/vfio/17"]), (7, "bash", ["/dev/vfio/vfio"])] {
            try files.createDirectory(atPath: "\(host.root)/proc/\(pid)/fd", withIntermediateDirectories: true)
            try "\(comm)\n".write(toFile: "\(host.root)/proc/\(pid)/comm", atomically: false, encoding: .utf8)
            for (fd, target) in targets.enumerated() {
                try files.createSymbolicLink(atPath: "\(host.root)/proc/\(pid)/fd/\(fd)", withDestinationPath: target)
            }
        }
        try files.createDirectory(atPath: "\(host.root)/proc/sys", withIntermediateDirectories: true)
        let holders = DeviceHolders(paths: host.paths, os: LiveSystemCalls())
        #expect(holders.holders(ofGroup: 17) == [.init(pid: 4242, command: "qemu-system-x86", file: "/dev/vfio/17")])
        #expect(holders.holders(ofGroup: 18) == [])
        let vgpu = VGPU(uuid: uuid("0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50"), parent: "mtty", type: "mtty-1", layout: .mdev, iommuGroup: 17)
        let error = #expect(throws: VGPUError.self) { try holders.refuseIfHeld(vgpu) }
        #expect(error?.kind == .busy)
        #expect(error?.message.contains("process 4242 (qemu-system-x86) holds /dev/vfio/17") == true)
    }
}

/// One vgpud per host: the second takes a real second flock on the same file and is refused.
@Suite struct DaemonLockTests {
    @Test func aSecondDaemonIsRefusedNamingTheFirstsPid() throws {
        let host = try TestHost()
        let first = try DaemonLock.acquire(paths: host.paths, os: LiveSystemCalls(), pid: 4242)
        let error = #expect(throws: VGPUError.self) { try DaemonLock.acquire(paths: host.paths, os: LiveSystemCalls(), pid: 4343) }
        #expect(error?.kind == .busy)
        #expect(error?.exitCode == 5)
        #expect(error?.message.contains("another vgpud is running on this host (pid 4242)") == true, "\(error?.message ?? "")")
        withExtendedLifetime(first) {}
    }

    @Test func theLockGoesWithItsHolder() throws {
        let host = try TestHost()
        do { _ = try DaemonLock.acquire(paths: host.paths, os: LiveSystemCalls(), pid: 1) }
        let again = try DaemonLock.acquire(paths: host.paths, os: LiveSystemCalls(), pid: 2)
        #expect(again.path.hasSuffix("/run/vgpuctl/vgpud.lock"))
        // vgpud's lock is not the host lock: vgpuctl commands go on while vgpud runs.
        _ = try HostLock.acquire(paths: host.paths, os: LiveSystemCalls(), wait: 0, holder: "test")
    }
}
