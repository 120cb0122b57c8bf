import Testing
@testable import VGPUCore

/// Hostile but valid domain documents: only `hostdev` children of `/domain/devices` in no namespace are devices.
@Suite struct DomainReaderTests {
    static let victim = "6a0e1f0e-4b2f-4c1a-9d3e-0123456789ab"
    static let own = "0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50"

    static func hostdev(_ uuid: String, quote: Character = "'") -> String {
        let q = quote
        return "<hostdev mode=\(q)subsystem\(q) type=\(q)mdev\(q) model=\(q)vfio-pci\(q)><source><address uuid=\(q)\(uuid)\(q)/></source></hostdev>"
    }

    /// The domain's devices, as `mdev UUID` / `pci address` strings, in document order.
    func devices(_ xml: String) throws -> [String] {
        try DomainDocument(xml: xml, what: "test").hostdevs.map {
            switch $0.source {
            case .mdev(let uuid): return uuid.text
            case .pci(let address): return address
            }
        }
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let xml: String
        let expected: [String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "issue 14: a look-alike hostdev in metadata, default namespace", xml: """
            <domain type='kvm'><name>zzattacker</name><metadata>
              <hostdev xmlns='urn:other' mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='\(victim)'/></source></hostdev>
            </metadata><devices/></domain>
            """, expected: []),
        Case(name: "the same with a prefix", xml: """
            <domain><metadata><o:hostdev xmlns:o='urn:other' mode='subsystem' type='mdev'><o:source><o:address uuid='\(victim)'/></o:source></o:hostdev></metadata>
            <devices>\(hostdev(own))</devices></domain>
            """, expected: [own]),
        Case(name: "a hostdev in the devices element but in another namespace", xml: """
            <domain xmlns:o='urn:other'><devices><o:hostdev mode='subsystem' type='mdev'><source><address uuid='\(victim)'/></source></o:hostdev></devices></domain>
            """, expected: []),
        Case(name: "a default namespace on the devices element", xml: """
            <domain><devices xmlns='urn:other'>\(hostdev(victim))</devices></domain>
            """, expected: []),
        Case(name: "escaped in the description", xml: """
            <domain><description>&lt;devices&gt;\(hostdev(victim).replacingOccurrences(of: "<", with: "&lt;"))&lt;/devices&gt;</description><devices/></domain>
            """, expected: []),
        Case(name: "inside a comment", xml: """
            <domain><devices><!-- \(hostdev(victim)) -->\(hostdev(own))</devices></domain>
            """, expected: [own]),
        Case(name: "inside CDATA", xml: """
            <domain><devices><![CDATA[\(hostdev(victim))]]></devices></domain>
            """, expected: []),
        Case(name: "inside a processing instruction", xml: """
            <?xml version='1.0'?><domain><devices><?pi \(hostdev(victim))?></devices></domain>
            """, expected: []),
        Case(name: "vgpuctl-looking metadata in a foreign namespace", xml: """
            <domain><metadata><vgpu:vgpus xmlns:vgpu='urn:not-vgpuctl'><vgpu:device uuid='\(victim)' type='mtty-2'/></vgpu:vgpus></metadata><devices/></domain>
            """, expected: []),
        Case(name: "a hostdev nested below another device", xml: """
            <domain><devices><disk type='file'>\(hostdev(victim))</disk></devices></domain>
            """, expected: []),
        Case(name: "a hostdev directly under the domain", xml: """
            <domain>\(hostdev(victim))<devices/></domain>
            """, expected: []),
        Case(name: "attributes with double quotes", xml: """
            <domain><devices>\(hostdev(own, quote: "\""))</devices></domain>
            """, expected: [own]),
        Case(name: "entities in attribute values", xml: """
            <domain><devices><hostdev mode='subsystem' type='&#109;dev'><source><address uuid='&#x30;b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50'/></source></hostdev></devices></domain>
            """, expected: [own]),
        Case(name: "a hostdev in a status XML's other element", xml: """
            <domstatus state='running'><devices>\(hostdev(victim))</devices><domain><devices>\(hostdev(own))</devices></domain></domstatus>
            """, expected: [own]),
        Case(name: "a PCI hostdev, libvirt's form", xml: """
            <domain><devices><hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x65' slot='0x00' function='0x5'/></source></hostdev></devices></domain>
            """, expected: ["0000:65:00.5"]),
    ]

    @Test(arguments: cases) func onlyDevicesUnderDomainDevicesCount(_ test: Case) throws {
        #expect(try devices(test.xml) == test.expected)
    }

    @Test func aMegabyteOfMetadataIsReadAndIgnored() throws {
        let noise = String(repeating: "<x:note xmlns:x='urn:n' a='1'>\(Self.hostdev(Self.victim).replacingOccurrences(of: "<", with: "&lt;"))</x:note>", count: 6000)
        #expect(noise.utf8.count > 1_000_000)
        #expect(try devices("<domain><metadata>\(noise)</metadata><devices>\(Self.hostdev(Self.own))</devices></domain>") == [Self.own])
    }

    @Test func sixteenRealHostdevsAreAllFound() throws {
        let uuids = (0..<16).map { String(format16($0)) + Self.victim.dropFirst(2) }
        let xml = "<domain><devices>" + uuids.map { Self.hostdev($0) }.joined(separator: "\n") + "</devices></domain>"
        #expect(try devices(xml) == uuids)
    }

    private func format16(_ n: Int) -> String { n < 16 ? "0" + String(n, radix: 16) : String(n, radix: 16) }

    @Test(arguments: [
        ("<domain><devices></domain>", "closes"),
        ("<!DOCTYPE domain [<!ENTITY e 'x'>]><domain/>", "DOCTYPE"),
        ("<domain>&e;</domain>", "undeclared entity"),
        ("<domain><p:x/></domain>", "not declared"),
        ("<domain a='1' a='2'/>", "repeated"),
        ("<domain/><domain/>", "after the root"),
        ("<domain a=1/>", "quoted"),
        ("", "no root"),
        ("<domain><!-- never closed </domain>", "never comes"),
    ])
    func malformedXMLIsAnErrorNamingWhatWasRead(_ xml: String, _ reason: String) {
        let error = #expect(throws: VGPUError.self) { try DomainDocument(xml: xml, what: "the live XML of domain web01") }
        #expect(error?.message.contains("the live XML of domain web01") == true)
        #expect(error?.message.contains(reason) == true, "\(error?.message ?? "")")
    }

    /// Found by fuzzing (scripts/fuzz.sh): 300,000 nested elements overflowed the stack when the tree was freed.
    @Test func nestingIsReadToLibxml2sDepthAndRefusedDeeper() throws {
        func nested(_ depth: Int) -> String { "<domain>" + String(repeating: "<a>", count: depth - 1) + String(repeating: "</a>", count: depth - 1) + "</domain>" }
        #expect(try DomainDocument(xml: nested(XMLReader.maximumDepth), what: "stdin").name == nil)
        for depth in [XMLReader.maximumDepth + 1, 300_000] {
            let error = #expect(throws: VGPUError.self) { try DomainDocument(xml: nested(depth), what: "stdin") }
            #expect(error?.message.contains("nested deeper than 2048 levels") == true, "\(error?.message ?? "")")
        }
    }

    @Test func anotherRootIsRefused() {
        let error = #expect(throws: VGPUError.self) { try DomainDocument(xml: "<network/>", what: "stdin") }
        #expect(error?.message.contains("<network>") == true)
    }

    @Test func namespacesResolveByURINotPrefix() throws {
        let root = try XMLReader.parse("<a xmlns:p='urn:x' xmlns:q='urn:x'><p:b/><q:b/><b xmlns='urn:x'/><b/></a>", what: "t")
        #expect(root.children("b", namespace: "urn:x").count == 3)
        #expect(root.children("b").count == 1)
        #expect(throws: VGPUError.self) { try XMLReader.parse("<a xmlns:p='urn:x' xmlns:q='urn:x'><b p:c='1' q:c='2'/></a>", what: "t") }
    }

    @Test func textAndEntitiesDecode() throws {
        let root = try XMLReader.parse("<a b='x&amp;y&lt;&#10;'>t&gt;<![CDATA[<c/>]]>&#x263A;</a>", what: "t")
        #expect(root.attribute("b") == "x&y<\n")
        #expect(root.text == "t><c/>☺")
        #expect(root.children.isEmpty)
    }
}

/// Property: for generated domains (random hostdevs, random noise around them), the reader returns exactly
/// the hostdevs that were put under `<devices>`.
@Suite struct DomainReaderPropertyTests {
    /// A small deterministic generator (SplitMix64), so a failure names a reproducible seed.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func uuid() -> String {
            let hex = (0..<32).map { _ in String(below(16), radix: 16) }.joined()
            let c = Array(hex)
            return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-" + String(c[16..<20]) + "-" + String(c[20..<32])
        }
    }

    /// Noise that names decoy devices in every way that must not count.
    static func noise(_ g: inout Generator) -> String {
        let decoy = DomainReaderTests.hostdev(g.uuid())
        switch g.below(7) {
        case 0: return "<!-- \(decoy) -->"
        case 1: return "<![CDATA[\(decoy)]]>"
        case 2: return "<x:wrap xmlns:x='urn:noise'>\(decoy.replacingOccurrences(of: "<hostdev", with: "<x:hostdev").replacingOccurrences(of: "</hostdev>", with: "</x:hostdev>"))</x:wrap>"
        case 3: return "<?noise \(decoy)?>"
        case 4: return "<disk type='file'>\(decoy)</disk>"
        case 5: return "<hostdev mode='subsystem' type='usb'><source><vendor id='0x1234'/></source></hostdev>"
        default: return "<interface type='network'><source network='default'/></interface>"
        }
    }

    @Test func theReaderFindsExactlyTheDevicesUnderDevices() throws {
        for seed in 1...200 {
            var g = Generator(state: UInt64(seed))
            var expected: [String] = []
            var devices = ""
            for _ in 0..<g.below(8) {
                if g.below(2) == 0 {
                    let uuid = g.uuid()
                    expected.append(uuid)
                    devices += DomainReaderTests.hostdev(uuid, quote: g.below(2) == 0 ? "'" : "\"")
                } else {
                    devices += Self.noise(&g)
                }
            }
            let metadata = (0..<g.below(4)).map { _ in Self.noise(&g) }.joined()
            let xml = "<domain type='kvm'><name>d\(seed)</name><metadata>\(metadata)</metadata><devices>\(devices)</devices></domain>"
            let found = try DomainDocument(xml: xml, what: "seed \(seed)").mdevUUIDs.map(\.text)
            #expect(found == expected, "seed \(seed)")
        }
    }
}
