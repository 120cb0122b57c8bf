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
        #expect(DomainXML.mdevUUIDs(in: "<domain><devices>\(xml)</devices></domain>") == [mdev.uuid])
        let vf = VGPU(uuid: mdev.uuid, parent: "0000:17:00.4", type: "nvidia-1414", layout: .nvidiaVFIO, pciAddress: "0000:17:00.4")
        let pciXML = try templates.hostdev(for: vf)
        #expect(pciXML.contains("managed='no'") && pciXML.contains("bus='0x17'") && pciXML.contains("function='0x4'"))
        #expect(DomainXML.pciAddresses(in: pciXML) == ["0000:17:00.4"])
        #expect(DomainXML.mdevUUIDs(in: pciXML) == [])
        #expect(try templates.nodedev(for: VGPU(uuid: mdev.uuid, parent: "0000:3b:00.0", type: "nvidia-222", layout: .mdev)).contains("<parent>pci_0000_3b_00_0</parent>"))
    }

    @Test func scannerReadsLibvirtsOwnOutputAndIgnoresLookalikes() {
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
        #expect(DomainXML.mdevUUIDs(in: domain).map(\.text) == ["0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50"])
        #expect(DomainXML.pciAddresses(in: domain) == ["0000:65:00.5"])
    }

    @Test func scopesAndDomainPlans() throws {
        #expect(try DomainPlanner.scope(config: false, live: false, domain: "d", isActive: true) == .both)
        #expect(try DomainPlanner.scope(config: false, live: false, domain: "d", isActive: false) == .config)
        #expect(throws: VGPUError.self) { try DomainPlanner.scope(config: false, live: true, domain: "d", isActive: false) }
        var vgpu = VGPU(uuid: try DeviceUUID(parsing: "6a0e1f0e-4b2f-4c1a-9d3e-0123456789ab"), parent: "mtty", type: "mtty-1", layout: .mdev)
        vgpu.domain = "db01"
        let error = #expect(throws: VGPUError.self) { try DomainPlanner.attach(vgpu, domain: "web01", scope: .config, xml: "x") }
        #expect(error?.kind == .busy && error?.message.contains("db01") == true)
        let detach = try DomainPlanner.detach(vgpu, isActive: true, xml: "x")
        #expect(detach.steps.map(\.summary) == ["detach vGPU \(vgpu.uuid) from domain db01 (live)", "detach vGPU \(vgpu.uuid) from domain db01 (config)"])
        let destroy = try DomainPlanner.destroy(domain: "db01", isActive: false, inventory: Inventory(parents: [], vgpus: [vgpu])) { _ in "x" }
        #expect(destroy.recovery == .rollForward)
        #expect(destroy.steps.last == .removeMdev(uuid: vgpu.uuid, parent: "mtty", type: "mtty-1"))
    }
}
