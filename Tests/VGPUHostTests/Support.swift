import Foundation
import VGPUCore
import VGPUFixtures
import VGPUHost
@testable import VGPUApp

/// A fresh host root per test: `<tmp>/root`, with sysfs at `<tmp>/root/sys`. A class so that the whole
/// `<tmp>` (`vgpuctl-test-<uuid>`) is removed when the test lets go of it: a run leaves nothing under /tmp.
final class TestHost {
    let directory: String
    let root: String
    let tree: SysfsTree
    var paths: HostPaths { HostPaths(root: root) }

    init(_ build: (String) throws -> SysfsTree = FixtureHosts.samples) throws {
        directory = NSTemporaryDirectory() + "vgpuctl-test-" + UUID().uuidString
        root = directory + "/root"
        do { tree = try build(root + "/sys") } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    deinit { remove() }

    /// Removes the whole temporary directory now (the deinit does it too, for tests that do not call this).
    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    func reader(_ os: SystemCalls = LiveSystemCalls()) -> SysfsReader { SysfsReader(paths: paths, os: os) }
    func inventory(_ os: SystemCalls = LiveSystemCalls()) throws -> Inventory {
        var inventory = try reader(os).inventory()
        inventory.definitions = DefinitionStore(paths: paths, os: os).all().definitions
        return inventory
    }

    /// The host runner on this tree; libvirt steps go to `hypervisor` (none: they fail).
    func runner(_ os: SystemCalls, hypervisor: Hypervisor? = nil) -> LiveStepRunner {
        LiveStepRunner(sysfs: SysfsWriter(paths: paths, os: os), definitions: DefinitionStore(paths: paths, os: os), detachTimeout: 1) {
            guard let hypervisor else { throw VGPUError(.libvirt, "no libvirt in this test") }
            return hypervisor
        }
    }

    func journal(_ os: SystemCalls) -> Journal { Journal(paths: paths, os: os) }

    func contents(_ relative: String) -> String? {
        try? String(contentsOfFile: root + "/" + relative, encoding: .utf8)
    }

    /// Every regular file and link under the root with its content (or link target): a whole-tree snapshot to
    /// prove that a failed operation changed nothing. Directories are left out (an empty one changes nothing).
    func snapshot() -> [String: String] {
        var result: [String: String] = [:]
        let files = FileManager.default
        guard let walker = files.enumerator(atPath: root) else { return result }
        while let relative = walker.nextObject() as? String {
            // The libvirt stand-in's own temporaries: real libvirt keeps its files consistent itself.
            if relative.hasPrefix("libvirt/.") { continue }
            let full = root + "/" + relative
            if let target = try? files.destinationOfSymbolicLink(atPath: full) { result[relative] = "-> " + target; continue }
            var isDirectory: ObjCBool = false
            if files.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                result[relative] = (try? String(contentsOfFile: full, encoding: .utf8)) ?? "<binary>"
            }
        }
        return result
    }
}

/// The paths whose content differs between two snapshots, with both values: short enough to read in a failure.
func changes(_ before: [String: String], _ after: [String: String]) -> [String] {
    Set(before.keys).union(after.keys).sorted().compactMap { key in
        before[key] == after[key] ? nil : "\(key): \(before[key] ?? "absent") => \(after[key] ?? "absent")"
    }
}

func uuid(_ text: String) -> DeviceUUID { try! DeviceUUID(parsing: text) }

extension Session {
    /// A change use case in this session (what `Application.run` does after opening one).
    func run<U: ChangeUseCase>(_ useCase: U) throws -> U.Output { try useCase.run(in: self) }
}
