import Foundation
import Testing
import VGPUCore
import VGPUFixtures
import VGPUHost

/// A definition's attributes through the real executor and sysfs writer, on fixture trees where
/// `SimulatedKernel` plays the kernel (each device has a writable `vendor/test_attr` that refuses "invalid").
@Suite struct AttributesOnFixtureTests {
    let id = uuid("0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50")

    func execute(_ plan: Plan, on host: TestHost, os: SystemCalls) throws {
        try Executor(runner: host.runner(os), journal: host.journal(os)).execute(plan)
    }

    /// Defines `attributes` for `id` on mtty (the file, as a user or mdevctl would have written it).
    func define(_ attributes: [Definition.Attribute], on host: TestHost) throws -> Plan {
        try DefinitionStore(paths: host.paths, os: LiveSystemCalls())
            .write(Definition(uuid: id, parent: "mtty", type: "mtty-2", start: .manual, attributes: attributes))
        return try DefinitionPlanner.start(id, inventory: host.inventory())
    }

    @Test func attributesAreWrittenInOrderIntoTheDeviceDirectory() throws {
        let host = try TestHost()
        defer { host.remove() }
        let kernel = SimulatedKernel(tree: host.tree)
        let traced = FaultInjectingOS(kernel)
        let plan = try define([.init(name: "vendor/test_attr", value: "first"), .init(name: "vendor/extra", value: "x"),
                               .init(name: "vendor/test_attr", value: "last")], on: host)
        // The fixture device has no vendor/extra until the "driver" makes one: add it as the device appears.
        let withExtra = CreatingExtraAttribute(base: traced, tree: host.tree)
        try execute(plan, on: host, os: withExtra)
        let writes = traced.calls.filter { $0.operation == .write }.map { Paths.basename($0.path) }
        #expect(writes == ["create", "test_attr", "extra", "test_attr"], "create, then each attribute in order")
        let device = "sys/bus/mdev/devices/\(id.text)"
        #expect(host.contents("\(device)/vendor/test_attr") == "last", "the last write wins, as in sysfs")
        #expect(host.contents("\(device)/vendor/extra") == "x")
        let journal = (try? FileManager.default.contentsOfDirectory(atPath: host.root + "/var/lib/vgpuctl/journal")) ?? []
        #expect(journal.isEmpty, "the journal record is gone")
    }

    /// The driver refuses the Nth attribute: the device is removed again and the error names the attribute,
    /// its value and the kernel's reason.
    @Test func aRefusedAttributeRemovesTheDeviceAndNamesAttributeValueAndErrno() throws {
        for n in 1...3 {
            let host = try TestHost()
            defer { host.remove() }
            var attributes = (1...3).map { Definition.Attribute(name: "vendor/test_attr", value: "v\($0)") }
            attributes[n - 1].value = "invalid"
            let plan = try define(attributes, on: host)
            let definitionOnly = host.snapshot()
            let error = #expect(throws: VGPUError.self) { try execute(plan, on: host, os: SimulatedKernel(tree: host.tree)) }
            #expect(error?.message.contains("attribute \(n - 1) 'vendor/test_attr' = 'invalid'") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("Invalid argument") == true)
            #expect(error?.message.contains("rolled back") == true)
            #expect(error?.kind == .invalidInput)
            #expect(changes(definitionOnly, host.snapshot()) == [], "attribute \(n): nothing left behind")
        }
    }

    /// Every fault point of a start with three attributes (journal, create, each write): nothing is left behind.
    @Test func everyFailurePointOfAStartWithAttributesRollsBack() throws {
        let attributes = (1...3).map { Definition.Attribute(name: "vendor/test_attr", value: "v\($0)") }
        let probe = try TestHost()
        defer { probe.remove() }
        let counter = FaultInjectingOS(SimulatedKernel(tree: probe.tree))
        try execute(try define(attributes, on: probe), on: probe, os: counter)
        #expect(counter.calls.filter { $0.operation == .write }.count == 4)

        for failAt in 1...counter.countedCalls {
            let host = try TestHost()
            defer { host.remove() }
            let plan = try define(attributes, on: host)
            let before = host.snapshot()
            let os = FaultInjectingOS(SimulatedKernel(tree: host.tree), failAt: failAt)
            let error = #expect(throws: VGPUError.self) { try execute(plan, on: host, os: os) }
            #expect(error?.message.contains("Input/output error") == true, "fail at \(failAt): \(error?.message ?? "")")
            #expect(changes(before, host.snapshot()) == [], "fail at \(failAt) of \(counter.countedCalls)")
        }
    }

    /// A start with attributes that dies at any call (`.dead`: nothing after it reaches the disk) is undone by
    /// the next command's recovery: no vGPU, no journal record, the definition byte-identical. Only dying after
    /// the record's deletion (its directory fsync) leaves the start complete: that is all, not nothing.
    @Test func aStartKilledAtEveryCallIsUndoneByRecovery() throws {
        let attributes = (1...2).map { Definition.Attribute(name: "vendor/test_attr", value: "v\($0)") }
        let probe = try TestHost()
        defer { probe.remove() }
        let counter = FaultInjectingOS(SimulatedKernel(tree: probe.tree))
        try execute(try define(attributes, on: probe), on: probe, os: counter)
        let complete = probe.snapshot()
        var undone = 0

        for crashAt in 1...counter.countedCalls {
            let host = try TestHost()
            defer { host.remove() }
            let plan = try define(attributes, on: host)
            let before = host.snapshot()
            let dying = FaultInjectingOS(SimulatedKernel(tree: host.tree), failAt: crashAt, mode: .dead)
            #expect(throws: (any Error).self) { try execute(plan, on: host, os: dying) }
            let healthy = SimulatedKernel(tree: host.tree)
            _ = try Recovery(journal: host.journal(healthy), runner: host.runner(healthy)).run()
            let after = host.snapshot()
            #expect(changes(before, after) == [] || changes(complete, after) == [], "crash at \(crashAt) of \(counter.countedCalls)")
            if changes(before, after) == [] { undone += 1 }
        }
        #expect(undone == counter.countedCalls - 1, "only a crash at the very last call leaves the start complete")
    }

    /// The Nth attribute write fails (an I/O error): the message names that attribute and its value.
    @Test func theNthWriteFailingNamesItsAttribute() throws {
        let host = try TestHost()
        defer { host.remove() }
        let attributes = (0..<3).map { Definition.Attribute(name: "vendor/test_attr", value: "value-\($0)") }
        let plan = try define(attributes, on: host)
        let before = host.snapshot()
        // Writes only: 1 is the create, 2... the attributes.
        let os = FaultInjectingOS(SimulatedKernel(tree: host.tree), failAt: 3, counting: { $0 == .write })
        let error = #expect(throws: VGPUError.self) { try execute(plan, on: host, os: os) }
        #expect(error?.message.contains("attribute 1 'vendor/test_attr' = 'value-1'") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("Input/output error (errno 5)") == true)
        #expect(error?.kind == .host)
        #expect(changes(before, host.snapshot()) == [])
    }

    @Test func aMissingAttributeOrALinkInThePathIsRefusedAndRolledBack() throws {
        let host = try TestHost()
        defer { host.remove() }
        let plan = try define([.init(name: "nvidia/vgpu_params", value: "enable_uvm=1")], on: host)
        let before = host.snapshot()
        let error = #expect(throws: VGPUError.self) { try execute(plan, on: host, os: SimulatedKernel(tree: host.tree)) }
        #expect(error?.message.contains("'nvidia/vgpu_params' = 'enable_uvm=1'") == true)
        #expect(error?.message.contains("no such attribute") == true)
        #expect(changes(before, host.snapshot()) == [])

        // A link inside the device directory (as a driver might add) is not followed.
        let writer = SysfsWriter(paths: host.paths, os: LiveSystemCalls())
        let device = host.root + "/sys/bus/mdev/devices/\(id.text)"
        try FileManager.default.createDirectory(atPath: host.root + "/elsewhere", withIntermediateDirectories: true)
        try "".write(toFile: host.root + "/elsewhere/file", atomically: false, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: device, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: device + "/out", withDestinationPath: host.root + "/elsewhere")
        let link = #expect(throws: VGPUError.self) {
            try writer.writeAttributes([.init(name: "out/file", value: "1")], uuid: id, parent: "mtty", layout: .mdev)
        }
        #expect(link?.message.contains("is a link out of the device's directory") == true)
        #expect(host.contents("elsewhere/file") == "")
    }
}

/// A driver that adds `vendor/extra` to each new device (so a test can write two different attributes).
final class CreatingExtraAttribute: SystemCalls, @unchecked Sendable {
    let base: SystemCalls
    let tree: SysfsTree
    init(base: SystemCalls, tree: SysfsTree) {
        self.base = base
        self.tree = tree
    }

    func write(_ path: String, _ contents: String) throws(OSError) {
        try base.write(path, contents)
        if path.hasSuffix("/create") {
            let device = tree.sysfs + "/bus/mdev/devices/" + contents.trimmingCharacters(in: .whitespacesAndNewlines)
            _ = FileManager.default.createFile(atPath: device + "/vendor/extra", contents: Data())
        }
    }
    func read(_ path: String) throws(OSError) -> String { try base.read(path) }
    func list(_ path: String) throws(OSError) -> [String] { try base.list(path) }
    func readLink(_ path: String) throws(OSError) -> String { try base.readLink(path) }
    func exists(_ path: String) -> Bool { base.exists(path) }
    func createFile(_ path: String, _ contents: String, mode: mode_t, sync: Bool) throws(OSError) {
        try base.createFile(path, contents, mode: mode, sync: sync)
    }
    func mkdir(_ path: String, mode: mode_t) throws(OSError) { try base.mkdir(path, mode: mode) }
    func rename(_ from: String, _ to: String) throws(OSError) { try base.rename(from, to) }
    func unlink(_ path: String) throws(OSError) { try base.unlink(path) }
    func fsync(_ path: String) throws(OSError) { try base.fsync(path) }
    func syncFileSystem(containing path: String) throws(OSError) { try base.syncFileSystem(containing: path) }
    func lock(_ path: String, wait: Bool) throws(OSError) -> Int32? { try base.lock(path, wait: wait) }
    func unlock(_ descriptor: Int32) { base.unlock(descriptor) }
    func run(_ executable: String, arguments: [String], stdin: String, timeout: Double) throws(OSError) -> ProcessResult {
        try base.run(executable, arguments: arguments, stdin: stdin, timeout: timeout)
    }
}
