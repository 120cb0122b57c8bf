import Foundation
import Testing
@testable import VGPUApp
import VGPUCore
import VGPUFixtures
import VGPUHost

/// mdevctl's own test cases (its src/tests/ and testdata/, mdevctl 1.3), replayed against vgpuctl's use cases on
/// fixture hosts. mdevctl's input and expected files are in Expected/mdevctl/, byte for byte as in its testdata/.
@Suite struct MdevctlConformanceTests {
    static let uuid976 = uuid("976d8cc2-4bfc-43b9-b9f9-f4af2de91ab9")
    static let parent = "0000:00:03.0"

    /// mdevctl's testdata file `name` (under Expected/mdevctl/), byte for byte.
    static func testdata(_ name: String) -> String {
        (try? String(contentsOf: expectedOutputDirectory.appendingPathComponent("mdevctl/" + name), encoding: .utf8)) ?? "<missing \(name)>"
    }

    /// testdata/modify/defined.json (and testdata/list/device1.json): a vfio_ap definition with six attributes.
    static let definedJSON = testdata("modify/defined.json")

    static let sixAttributes: [(String, String)] = [("assign_adapter", "5"), ("assign_adapter", "6"), ("assign_domain", "0xab"),
                                                    ("assign_control_domain", "0xab"), ("assign_domain", "4"), ("assign_control_domain", "4")]

    /// The bytes mdevctl writes for a definition (serde_json's pretty printer, no final newline), spelled out.
    static func mdevctlFile(type: String = "vfio_ap-passthrough", start: String = "manual", _ attributes: [(String, String)]) -> String {
        let objects = attributes.map { "    {\n      \"\($0.0)\": \"\($0.1)\"\n    }" }
        return "{\n  \"mdev_type\": \"\(type)\",\n  \"start\": \"\(start)\",\n  \"attrs\": "
            + (objects.isEmpty ? "[]" : "[\n" + objects.joined(separator: ",\n") + "\n  ]") + "\n}"
    }

    func populate(_ host: TestHost, uuid: DeviceUUID = uuid976, parent: String = parent, _ text: String = definedJSON) throws {
        let directory = host.root + "/etc/mdevctl.d/" + parent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try text.write(toFile: directory + "/" + uuid.text, atomically: false, encoding: .utf8)
    }

    func session(_ host: TestHost) throws -> Session {
        try Session(environment: Environment(paths: host.paths, os: SimulatedKernel(tree: host.tree)), wait: 0, command: "test")
    }

    func file(_ host: TestHost, parent: String = parent) -> String? { host.contents("etc/mdevctl.d/\(parent)/\(Self.uuid976.text)") }

    /// src/tests/modify.rs: each case and its change; the result must be testdata/modify/<case>.expected.
    @Test(arguments: [
        ("auto", DefinitionChange(start: .auto)),
        ("manual", DefinitionChange(start: .manual)),
        ("delattr", DefinitionChange(attribute: .delete(index: 2))),
        ("delattr-noindex", DefinitionChange(attribute: .delete(index: nil))),
        ("addattr", DefinitionChange(attribute: .add(.init(name: "added-attr", value: "added-attr-value"), index: 3))),
        ("addattr-noindex", DefinitionChange(attribute: .add(.init(name: "added-attr", value: "added-attr-value"), index: nil))),
        ("mdev_type", DefinitionChange(type: "changed-mdev-type")),
    ])
    func modifyAsMdevctl(_ name: String, _ change: DefinitionChange) throws {
        let host = try TestHost()
        defer { host.remove() }
        try populate(host)
        try session(host).run(ModifyDefinition(Self.uuid976, parent: Self.parent, change: change))
        expectOutput(file(host) ?? "<no file>", file: "mdevctl/modify/\(name).expected")
    }

    /// modify.rs: device-not-defined, multiple-noparent fail; multiple-parent passes and touches only that parent's
    /// file; a bad index fails with the file unchanged.
    @Test func modifyRefusalsAsMdevctl() throws {
        let host = try TestHost()
        defer { host.remove() }
        let notDefined = #expect(throws: VGPUError.self) {
            try session(host).run(ModifyDefinition(Self.uuid976, parent: nil, change: DefinitionChange(start: .auto)))
        }
        #expect(notDefined?.kind == .notFound)
        try populate(host)
        try populate(host, parent: "0000:00:02.0")
        let multiple = #expect(throws: VGPUError.self) { try session(host).run(ModifyDefinition(Self.uuid976, parent: nil, change: DefinitionChange(start: .auto))) }
        #expect(multiple?.fix == "name one with --parent")
        try session(host).run(ModifyDefinition(Self.uuid976, parent: Self.parent, change: DefinitionChange(start: .auto)))
        #expect(file(host) == Self.testdata("modify/auto.expected"), "multiple-parent.expected")
        #expect(file(host, parent: "0000:00:02.0") == Self.definedJSON, "the other parent's file is untouched")
        #expect(throws: VGPUError.self) {
            try session(host).run(ModifyDefinition(Self.uuid976, parent: Self.parent, change: DefinitionChange(attribute: .delete(index: 6))))
        }
        #expect(file(host) == Self.testdata("modify/auto.expected"))
    }

    /// modify.rs callout-pass (rc0.sh) and callout-fail (rc1.sh): a failing callout leaves the file as it was.
    @Test func modifyWithCalloutsAsMdevctl() throws {
        for (script, passes) in [("rc0.sh", true), ("rc1.sh", false)] {
            let host = try TestHost()
            defer { host.remove() }
            try populate(host)
            let path = host.root + "/etc/mdevctl.d/scripts.d/callouts/" + script
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try "#!/bin/sh\njson=$(cat)\nexit \(passes ? 0 : 1)\n".write(toFile: path, atomically: false, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
            do {
                try session(host).run(ModifyDefinition(Self.uuid976, parent: Self.parent, change: DefinitionChange(start: .auto)))
                #expect(passes, "\(script)")
                #expect(file(host) == Self.testdata("modify/auto.expected"))
            } catch let error as VGPUError {
                #expect(!passes && error.kind == .vetoed, "\(script): \(error)")
                #expect(file(host) == Self.definedJSON)
            }
        }
    }

    /// src/tests/list.rs "defined": UUID[2] on 0000:00:02.0 (device2.json, four-space indented) and UUID[3] on both
    /// parents (device1.json); testdata/list/defined.json lists them by parent, attributes in order. An
    /// "invalid-uuid-value" file is skipped (list.rs test_invalid_files) with a warning, not fatal.
    @Test func listDefinedAsMdevctl() throws {
        let host = try TestHost()
        defer { host.remove() }
        let uuid2 = uuid("4a0a190f-dcf3-4def-9342-c48768f0c940"), uuid3 = uuid("9f579710-6ffc-4201-987a-4ffa0fb1f3a5")
        try populate(host, uuid: uuid2, parent: "0000:00:02.0",
                     "{\n    \"mdev_type\": \"i915-GVTg_V5_8\",\n    \"start\": \"auto\",\n    \"attrs\": []\n}\n")
        try populate(host, uuid: uuid3, parent: "0000:00:03.0")
        try populate(host, uuid: uuid3, parent: "0000:00:02.0")
        try Self.definedJSON.write(toFile: host.root + "/etc/mdevctl.d/0000:00:03.0/invalid-uuid-value", atomically: false, encoding: .utf8)
        let (definitions, problems) = DefinitionStore(paths: host.paths, os: LiveSystemCalls()).all()
        let listed = Inventory(parents: [], vgpus: [], definitions: definitions).definitions
        let attributes = Self.sixAttributes.map { Definition.Attribute(name: $0.0, value: $0.1) }
        #expect(listed == [
            Definition(uuid: uuid2, parent: "0000:00:02.0", type: "i915-GVTg_V5_8", start: .auto),
            Definition(uuid: uuid3, parent: "0000:00:02.0", type: "vfio_ap-passthrough", start: .manual, attributes: attributes),
            Definition(uuid: uuid3, parent: "0000:00:03.0", type: "vfio_ap-passthrough", start: .manual, attributes: attributes),
        ])
        #expect(problems.count == 1 && problems[0].contains("invalid-uuid-value"))
    }

    /// src/tests/startstop.rs defined-multiple-underspecified (fails) and defined-multiple (passes with a parent);
    /// and mdevctl's start writes the attributes once the device exists, in order.
    @Test func startAsMdevctl() throws {
        let host = try TestHost()
        defer { host.remove() }
        try populate(host, parent: "mtty", Self.mdevctlFile(type: "mtty-2", [("vendor/test_attr", "a"), ("vendor/test_attr", "b")]))
        try populate(host, parent: "mdpy", Self.mdevctlFile(type: "mdpy-vga", []))
        let underspecified = #expect(throws: VGPUError.self) { try session(host).run(StartVGPU(Self.uuid976)) }
        #expect(underspecified?.kind == .invalidInput)
        #expect(!FileManager.default.fileExists(atPath: host.root + "/sys/bus/mdev/devices/\(Self.uuid976.text)"))
        try session(host).run(StartVGPU(Self.uuid976, parent: "mtty"))
        #expect(host.contents("sys/bus/mdev/devices/\(Self.uuid976.text)/vendor/test_attr") == "b")
    }

    /// The issue's case: `nvidia/vgpu_params` on a device that has no such attribute. mdevctl refuses ("Invalid
    /// attribute") and removes the device; so does vgpuctl, naming attribute and value.
    @Test func anAttributeTheDeviceDoesNotHaveIsRefusedWithNothingLeft() throws {
        let host = try TestHost()
        defer { host.remove() }
        try populate(host, parent: "mtty", Self.mdevctlFile(type: "mtty-2", [("nvidia/vgpu_params", "enable_uvm=1")]))
        let before = host.snapshot()
        let error = #expect(throws: VGPUError.self) { try session(host).run(StartVGPU(Self.uuid976)) }
        #expect(error?.message.contains("'nvidia/vgpu_params' = 'enable_uvm=1'") == true)
        #expect(changes(before, host.snapshot()).filter { !$0.hasPrefix("run/vgpuctl") } == [])
    }
}
