import Foundation
import Testing
import VGPUCore
import VGPUHost

/// SessionReads answers repeated reads itself and forgets them after any change made through it.
@Suite struct SessionReadsTests {
    /// Counts the calls that reach the real stand-in.
    final class Counting: Hypervisor {
        let base: FileHypervisor
        var reads: [String] = []
        init(_ base: FileHypervisor) { self.base = base }
        func domain(_ nameOrUUID: String) throws -> DomainInfo { reads.append("domain \(nameOrUUID)"); return try base.domain(nameOrUUID) }
        func domains() throws -> [DomainInfo] { reads.append("domains"); return try base.domains() }
        func xml(of domain: String, inactive: Bool) throws -> String {
            reads.append("xml \(domain) \(inactive ? "inactive" : "live")")
            return try base.xml(of: domain, inactive: inactive)
        }
        func attach(_ xml: String, to domain: String, scope: AttachScope) throws { try base.attach(xml, to: domain, scope: scope) }
        func detach(_ xml: String, from domain: String, scope: AttachScope, timeout: Double) throws {
            try base.detach(xml, from: domain, scope: scope, timeout: timeout)
        }
        func define(_ xml: String) throws { try base.define(xml) }
        func setMetadata(_ element: String?, namespace: String, prefix: String, domain: String, scope: AttachScope) throws {
            try base.setMetadata(element, namespace: namespace, prefix: prefix, domain: domain, scope: scope)
        }
    }

    @Test func repeatedReadsAskOnceAndAChangeIsSeenByTheNextRead() throws {
        let host = try TestHost()
        let counting = Counting(try FileHypervisor(directory: host.root + "/libvirt", os: LiveSystemCalls(), domains: ["web01": false, "db": true]))
        let reads = SessionReads(counting)
        // The usage scan lists the domains and reads their XML; what the command asks next comes from there.
        _ = try reads.usage()
        let scanned = counting.reads
        #expect(scanned.filter { $0 == "domains" }.count == 1)
        #expect(try reads.domain("web01").isActive == false)
        #expect(try reads.domain("db").isActive)
        _ = try reads.xml(of: "web01", inactive: true)
        _ = try reads.xml(of: "db", inactive: false)
        #expect(counting.reads == scanned, "nothing more was asked of libvirt")

        let hostdev = "<hostdev mode='subsystem' type='mdev'><source><address uuid='0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50'/></source></hostdev>"
        try reads.attach(hostdev, to: "web01", scope: .config)
        #expect(try reads.xml(of: "web01", inactive: true).contains("0b1e5c4e"), "the change is read back, not the cached XML")
        #expect(counting.reads.last == "xml web01 inactive")
        // A device change leaves the list, the states and the other domains' XML as they were.
        let afterAttach = counting.reads
        _ = try reads.domain("web01")
        _ = try reads.xml(of: "db", inactive: false)
        #expect(counting.reads == afterAttach)
        // A live detach waits for the guest: everything is read again.
        try reads.detach(hostdev, from: "db", scope: .live, timeout: 1)
        _ = try reads.domain("web01")
        #expect(counting.reads.last == "domain web01")
    }

    @Test func aFailedChangeForgetsToo() throws {
        let host = try TestHost()
        let counting = Counting(try FileHypervisor(directory: host.root + "/libvirt", os: LiveSystemCalls(), domains: ["web01": false]))
        let reads = SessionReads(counting)
        _ = try reads.xml(of: "web01", inactive: true)
        #expect(throws: (any Error).self) { try reads.define("<domain") }
        _ = try reads.xml(of: "web01", inactive: true)
        #expect(counting.reads == ["xml web01 inactive", "xml web01 inactive"])
    }

    @Test func anUnlistedDomainIsLookedUpOnceAndAMissingOneStillThrows() throws {
        let host = try TestHost()
        let counting = Counting(try FileHypervisor(directory: host.root + "/libvirt", os: LiveSystemCalls(), domains: ["web01": false]))
        let reads = SessionReads(counting)
        _ = try reads.domain("web01")
        _ = try reads.domain("web01")
        #expect(counting.reads == ["domain web01"])
        let missing = #expect(throws: VGPUError.self) { try reads.domain("nope") }
        #expect(missing?.kind == .notFound)
    }
}
