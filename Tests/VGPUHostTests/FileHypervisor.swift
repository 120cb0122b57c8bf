import Foundation
import VGPUCore
import VGPUHost

/// A stand-in for libvirt that keeps each domain's definition (and, while it runs, its live XML) as files under
/// the test root, written through the OS boundary: fault injection and crash simulation reach its changes too,
/// and tree snapshots include the domains.
final class FileHypervisor: Hypervisor {
    let directory: String
    let os: SystemCalls

    init(directory: String, os: SystemCalls, domains: [String: Bool]) throws {
        self.directory = directory
        self.os = os
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (name, running) in domains {
            let empty = "<domain><name>\(name)</name><devices>\n</devices></domain>"
            try empty.write(toFile: path(name, inactive: true), atomically: true, encoding: .utf8)
            if running { try empty.write(toFile: path(name, inactive: false), atomically: true, encoding: .utf8) }
        }
    }

    /// The same domains seen through another OS boundary (recovery runs with a live one).
    init(_ other: FileHypervisor, os: SystemCalls) {
        directory = other.directory
        self.os = os
    }

    func path(_ domain: String, inactive: Bool) -> String { "\(directory)/\(domain).\(inactive ? "config" : "live").xml" }

    func domain(_ nameOrUUID: String) throws -> DomainInfo {
        guard FileManager.default.fileExists(atPath: path(nameOrUUID, inactive: true)) else {
            throw VGPUError(.notFound, "no libvirt domain named '\(nameOrUUID)'")
        }
        return DomainInfo(name: nameOrUUID, uuid: "", isActive: FileManager.default.fileExists(atPath: path(nameOrUUID, inactive: false)))
    }

    func domains() throws -> [DomainInfo] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".config.xml") }
            .map { try domain(String($0.dropLast(".config.xml".count))) }
    }

    func xml(of domain: String, inactive: Bool) throws -> String { try os.read(path(domain, inactive: inactive)) }

    func attach(_ xml: String, to domain: String, scope: AttachScope) throws {
        for inactive in documents(domain, scope) {
            let document = try self.xml(of: domain, inactive: inactive)
            try os.replaceAtomically(path(domain, inactive: inactive), with: document.replacingOccurrences(of: "</devices>", with: xml + "\n</devices>"))
        }
    }

    func detach(_ xml: String, from domain: String, scope: AttachScope, timeout: Double) throws {
        for inactive in documents(domain, scope) {
            let document = try self.xml(of: domain, inactive: inactive)
            try os.replaceAtomically(path(domain, inactive: inactive), with: document.replacingOccurrences(of: xml + "\n", with: ""))
        }
    }

    func define(_ xml: String) throws {
        let name = try DomainDocument(xml: xml, what: "the defined XML").name ?? "?"
        try os.replaceAtomically(path(name, inactive: true), with: xml)
    }

    func setMetadata(_ element: String?, namespace: String, prefix: String, domain: String, scope: AttachScope) throws {
        for inactive in documents(domain, scope) {
            var document = try self.xml(of: domain, inactive: inactive)
            if let start = document.range(of: "<metadata>"), let end = document.range(of: "</metadata>") {
                document.removeSubrange(start.lowerBound..<end.upperBound)
            }
            // As libvirt does: the namespace and prefix go onto the element.
            if let element { document = document.replacingOccurrences(of: "<devices>", with: "<metadata>\(VGPUMetadata.stored(element))</metadata><devices>") }
            try os.replaceAtomically(path(domain, inactive: inactive), with: document)
        }
    }

    private func documents(_ domain: String, _ scope: AttachScope) -> [Bool] {
        (scope.contains(.config) ? [true] : []) + (scope.contains(.live) ? [false] : [])
    }
}
