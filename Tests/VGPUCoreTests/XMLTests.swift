import Testing
@testable import VGPUCore

@Suite struct XMLTests {
    let templates = HostdevXML(
        mdev: Template(name: "mdev", text: "<hostdev type='mdev'{{#display}} display='{{display}}'{{/display}}><source><address uuid='{{uuid}}'/></source></hostdev>"),
        pci: Template(name: "pci", text: "<hostdev type='pci' managed='no'><source><address domain='0x{{pci_domain}}' bus='0x{{pci_bus}}' slot='0x{{pci_slot}}' function='0x{{pci_function}}'/></source></hostdev>"),
        nodedev: Template(name: "nodedev", text: "<device><name>{{nodedev_name}}</name><parent>{{parent_nodedev}}</parent><type id='{{type}}'/></device>"))

    @Test func valuesAreEscapedAndSectionsOptional() throws {
        let template = Template(name: "t", text: "<a x='{{v}}'>{{#opt}}<b>{{opt}}</b>{{/opt}}</a>")
        #expect(try template.render(["v": "a'b\"c<d>&e"]) == "<a x='a&apos;b&quot;c&lt;d&gt;&amp;e'></a>")
        #expect(try template.render(["v": "", "opt": "on"]) == "<a x=''><b>on</b></a>")
        #expect(throws: VGPUError.self) { try template.render([:]) }
        #expect(throws: VGPUError.self) { try Template(name: "bad", text: "{{#x}} never closed").render(["x": "1"]) }
    }

    @Test func mdevAndVFHostdevsRoundTripThroughTheScanner() throws {
        let mdev = VGPU(uuid: try DeviceUUID(parsing: "6a0e1f0e-4b2f-4c1a-9d3e-0123456789ab"), parent: "mtty", type: "mtty-1", layout: .mdev)
        let xml = try templates.hostdev(for: mdev, options: .init(display: true))
        #expect(xml.contains("display='on'"))
        #expect(try DomainDocument(xml: "<domain><devices>\(xml)</devices></domain>", what: "test").mdevUUIDs == [mdev.uuid])
        let vf = VGPU(uuid: mdev.uuid, parent: "0000:17:00.4", type: "nvidia-1414", layout: .nvidiaVFIO, pciAddress: "0000:17:00.4")
        let pciXML = try templates.hostdev(for: vf)
        #expect(pciXML.contains("managed='no'") && pciXML.contains("bus='0x17'") && pciXML.contains("function='0x4'"))
        #expect(try DomainDocument.source(ofHostdev: pciXML) == .pci("0000:17:00.4"))
        #expect(try templates.nodedev(for: VGPU(uuid: mdev.uuid, parent: "0000:3b:00.0", type: "nvidia-222", layout: .mdev)).contains("<parent>pci_0000_3b_00_0</parent>"))
    }

    @Test func readerReadsLibvirtsOwnOutputAndIgnoresLookalikes() throws {
        let domain = """
            <domain type='kvm'><name>web01</name><devices>
              <hostdev mode='subsystem' type='mdev' managed='no' model='vfio-pci' display='off'>
                <source><address uuid='0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50'/></source>
                <alias name='hostdev0'/><address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
              </hostdev>
              <hostdev mode="subsystem" type="pci" managed="no"><source><address domain="0x0000" bus="0x65" slot="0x00" function="0x5"/></source></hostdev>
              <disk type='file'><source file='/var/lib/uuid=x'/></disk>
            </devices></domain>
            """
        let document = try DomainDocument(xml: domain, what: "test")
        #expect(document.mdevUUIDs.map(\.text) == ["0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50"])
        #expect(document.sources.contains(.pci("0000:65:00.5")) && document.sources.count == 2)
        #expect(document.alias(of: .mdev(document.mdevUUIDs[0])) == "hostdev0")
    }

    @Test func scopesAndDomainPlans() throws {
        #expect(try DomainPlanner.scope(config: false, live: false, domain: "d", isActive: true) == .both)
        #expect(try DomainPlanner.scope(config: false, live: false, domain: "d", isActive: false) == .config)
        #expect(throws: VGPUError.self) { try DomainPlanner.scope(config: false, live: true, domain: "d", isActive: false) }
        var vgpu = VGPU(uuid: try DeviceUUID(parsing: "6a0e1f0e-4b2f-4c1a-9d3e-0123456789ab"), parent: "mtty", type: "mtty-1", layout: .mdev)
        vgpu.domains = ["db01"]
        let error = #expect(throws: VGPUError.self) { try DomainPlanner.attach(vgpu, domain: "web01", scope: .config, xml: "x") }
        #expect(error?.kind == .busy && error?.message.contains("db01") == true)
        let detach = try DomainPlanner.detach(vgpu, from: "db01", isActive: true, xml: "x")
        #expect(detach.steps.map(\.summary) == ["detach vGPU \(vgpu.uuid) from domain db01 (live)", "detach vGPU \(vgpu.uuid) from domain db01 (config)"])
        let (destroy, _) = try DomainPlanner.destroy(domain: "db01", isActive: false, inventory: Inventory(parents: [], vgpus: [vgpu])) { _ in "x" }
        #expect(destroy.recovery == .rollForward)
        #expect(destroy.steps.last == .removeMdev(uuid: vgpu.uuid, parent: "mtty", type: "mtty-1"))
    }
}

@Suite struct NodeDeviceXMLTests {
    @Test func mdevAndParentNodeDevicesParse() throws {
        let mdev = """
            <device>
              <name>mdev_4b20d080_1b54_4048_85b3_a6a62d165c01_0000_00_02_0</name>
              <parent>pci_0000_00_02_0</parent>
              <driver><name>vfio_mdev</name></driver>
              <capability type='mdev'>
                <type id='nvidia-222'/>
                <uuid>4b20d080-1b54-4048-85b3-a6a62d165c01</uuid>
                <iommuGroup number='12'/>
              </capability>
            </device>
            """
        let device = try NodeDeviceXML.parse(mdev, active: true)
        #expect(device.name == "mdev_4b20d080_1b54_4048_85b3_a6a62d165c01_0000_00_02_0")
        #expect(device.parent == "pci_0000_00_02_0")
        #expect(device.uuid?.text == "4b20d080-1b54-4048-85b3-a6a62d165c01")
        #expect(device.type == "nvidia-222")

        // A PCI parent nests mdev_types inside its pci capability.
        let parent = """
            <device><name>pci_0000_3b_00_0</name><parent>pci_0000_3a_00_0</parent>
              <capability type='pci'><class>0x030200</class>
                <capability type='mdev_types'>
                  <type id='nvidia-222'><name>GRID T4-1B</name><deviceAPI>vfio-pci</deviceAPI><availableInstances>16</availableInstances></type>
                  <type id='nvidia-223'><name>GRID T4-2B</name><deviceAPI>vfio-pci</deviceAPI><availableInstances>8</availableInstances></type>
                </capability>
              </capability>
            </device>
            """
        let pf = try NodeDeviceXML.parse(parent, active: true)
        #expect(pf.types.map(\.id) == ["nvidia-222", "nvidia-223"])
        #expect(pf.types.map(\.availableInstances) == [16, 8])
        #expect(pf.types[0].name == "GRID T4-1B")
    }

    @Test func theAliasOfAnAttachedHostdevIsFound() throws {
        let live = """
            <domain><devices>
              <hostdev mode='subsystem' type='mdev' managed='no' model='vfio-pci'>
                <source><address uuid='0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50'/></source><alias name='hostdev0'/></hostdev>
              <hostdev mode='subsystem' type='pci' managed='no'>
                <source><address domain='0x0000' bus='0x17' slot='0x00' function='0x4'/></source><alias name='hostdev1'/></hostdev>
            </devices></domain>
            """
        #expect(try alias(live, "<hostdev type='mdev'><source><address uuid='0B1E5C4E-2d4a-4b8e-9b3e-5a1c2d3e4f50'/></source></hostdev>") == "hostdev0")
        #expect(try alias(live, "<hostdev type='pci'><source><address domain='0x0000' bus='0x17' slot='0x00' function='0x4'/></source></hostdev>") == "hostdev1")
        #expect(try alias(live, "<hostdev type='mdev'><source><address uuid='1c2f6d5f-3e5b-4c9f-8c4f-6b2d3e4f5061'/></source></hostdev>") == nil)
    }

    private func alias(_ domain: String, _ hostdev: String) throws -> String? {
        try DomainDocument(xml: domain, what: "test").alias(of: DomainDocument.source(ofHostdev: hostdev))
    }
}
