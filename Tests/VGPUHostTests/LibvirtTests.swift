import CLibvirt
import Foundation
import Testing
import VGPUCore
@testable import VGPUHost

/// Config-level tests on libvirt's embedded test driver (no daemon; it has no device attach/detach).
@Suite struct LibvirtTests {
    @Test func testDriverDomainsAreFoundByNameAndUUID() throws {
        let connection = try LibvirtConnection(uri: "test:///default")
        let domains = try connection.domains()
        #expect(domains.map(\.name) == ["test"])
        let test = try connection.domain("test")
        #expect(test.isActive)
        #expect(try connection.domain(test.uuid).name == "test")
        #expect(try connection.xml(of: "test", inactive: true).contains("<name>test</name>"))
    }

    /// A test driver state of its own (test:///default's is shared by every connection of the process), with a
    /// running 'test' and a shut-off 'idle' (the driver starts the domains of its file; runstate 5 is shut off).
    func privateDriver(_ host: TestHost) throws -> LibvirtConnection {
        let node = host.directory + "/node.xml"
        try "<node>\(Self.domain("test", state: 1))\(Self.domain("idle", state: 5))</node>".write(toFile: node, atomically: true, encoding: .utf8)
        return try LibvirtConnection(uri: "test://" + node)
    }

    static func domain(_ name: String, state: Int? = nil, uuid: String? = nil) -> String {
        "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>\(name)</name>"
            + (uuid.map { "<uuid>\($0)</uuid>" } ?? "") + "<memory>65536</memory><os><type>hvm</type></os>"
            + (state.map { "<test:runstate>\($0)</test:runstate>" } ?? "") + "</domain>"
    }

    /// domains() learns which domains run from a filtered list, not from each domain.
    @Test func listedDomainsKnowWhichRun() throws {
        let connection = try privateDriver(try TestHost())
        let domains = try connection.domains()
        #expect(domains.map(\.name).sorted() == ["idle", "test"])
        #expect(domains.first { $0.name == "test" }?.isActive == true)
        #expect(domains.first { $0.name == "idle" }?.isActive == false)
        #expect(domains.allSatisfy { !$0.autostart && $0.uuid.count == 36 })
        #expect(try connection.domain("idle") == domains.first { $0.name == "idle" })
    }

    /// Kept handles (DomainHandles) never answer for a domain that has gone: undefined and defined anew, the new
    /// one is read; undefined, the error is vgpuctl's own.
    @Test func aKeptHandleOfAGoneDomainIsLookedUpAfresh() throws {
        let connection = try privateDriver(try TestHost())
        // Listed twice: the second list's handles are the same domains' (the kept ones stay, the new are freed).
        #expect(try connection.domains() == connection.domains())
        let old = try #require(try connection.domains().first { $0.name == "idle" })
        let undefine = { (name: String) in
            let handle = try #require(virDomainLookupByName(connection.connection, name))
            defer { virDomainFree(handle) }
            #expect(virDomainUndefine(handle) == 0)
        }
        try undefine("idle")
        let renewed = "1b6e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
        try connection.define(Self.domain("idle", uuid: renewed))
        #expect(old.uuid != renewed)
        #expect(try connection.domain("idle").uuid == renewed)
        #expect(try connection.xml(of: "idle", inactive: true).contains(renewed))
        #expect(try connection.domains().first { $0.name == "idle" }?.uuid == renewed)
        try undefine("idle")
        let gone = #expect(throws: VGPUError.self) { try connection.xml(of: "idle", inactive: true) }
        #expect(gone?.kind == .notFound)
        #expect(gone?.message.hasPrefix("no libvirt domain named 'idle'") == true)
    }

    @Test func unknownDomainsAndBadURIsKeepLibvirtsMessage() throws {
        let connection = try LibvirtConnection(uri: "test:///default")
        let missing = #expect(throws: VGPUError.self) { try connection.domain("web01'\"<x>") }
        #expect(missing?.kind == .notFound)
        #expect(missing?.message.contains("web01'\"<x>") == true)
        let unreachable = #expect(throws: VGPUError.self) { try LibvirtConnection(uri: "qemu+unix:///system?socket=/nonexistent/sock") }
        #expect(unreachable?.kind == .libvirt)
        #expect(unreachable?.message.contains("/nonexistent/sock") == true, "libvirt's own message is kept: \(unreachable?.message ?? "")")
    }

    @Test func testDriverRefusesAttachWithATypedError() throws {
        let connection = try LibvirtConnection(uri: "test:///default")
        let error = #expect(throws: VGPUError.self) {
            try connection.attach("<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50'/></source></hostdev>", to: "test", scope: .config)
        }
        #expect(error?.kind == .libvirt)
    }

    @Test func generatedXMLValidatesWithVirtXMLValidate() throws {
        let templates = try TemplateStore.load()
        let mdev = VGPU(uuid: LibUUID.random(), parent: "0000:3b:00.0", type: "nvidia-222", layout: .mdev)
        let vf = VGPU(uuid: LibUUID.random(), parent: "0000:17:00.4", type: "nvidia-1414", layout: .nvidiaVFIO, pciAddress: "0000:17:00.4")
        let devices = try [templates.hostdev(for: mdev), templates.hostdev(for: mdev, options: .init(display: true, ramfb: true)),
                           templates.hostdev(for: mdev, options: .init(display: false)), templates.hostdev(for: vf)]
        let domain = """
            <domain type='kvm'><name>web01 &amp; &lt;friends&gt;</name><memory unit='MiB'>256</memory>
            <os><type arch='x86_64' machine='pc'>hvm</type></os><features><acpi/></features>
            <devices><graphics type='vnc'/>\(devices.joined(separator: "\n"))</devices></domain>
            """
        try validate(domain, schema: "domain")
        try validate(templates.nodedev(for: mdev), schema: "nodedev")
    }

    func validate(_ xml: String, schema: String) throws {
        let file = NSTemporaryDirectory() + "vgpuctl-\(UUID().uuidString).xml"
        try xml.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/virt-xml-validate")
        process.arguments = [file, schema]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "virt-xml-validate \(schema): \(output)\n\(xml)")
    }
}
