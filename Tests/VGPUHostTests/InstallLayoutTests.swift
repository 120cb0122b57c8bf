import Foundation
import Testing
import VGPUCore
import VGPUFixtures
import VGPUHost

/// What an installed vgpuctl relies on: the templates it was installed with, and private state directories.
@Suite struct InstallLayoutTests {
    let source = "/src/vgpuctl/xml-templates"
    let installed = "/usr/share/vgpuctl/xml-templates"

    /// `exists` for a set of template directories (the resolver looks for hostdev-mdev.xml in each).
    func present(_ directories: String...) -> (String) -> Bool {
        { path in directories.contains { path == $0 + "/hostdev-mdev.xml" } }
    }

    @Test func anInstalledBinaryUsesTheInstalledTemplatesAndNeverTheSourceTree() throws {
        let found = try TemplateStore.resolve(executable: "/usr/bin/vgpuctl", override: nil, sourceTree: source, exists: present(source, installed))
        #expect(found == installed)
        #expect(!TemplateStore.candidates(executable: "/usr/bin/vgpuctl", override: nil, sourceTree: source).contains(source))
        // A daemon in /usr/sbin finds the same /usr/share directory.
        #expect(try TemplateStore.resolve(executable: "/usr/sbin/vgpud", override: nil, sourceTree: source, exists: present(installed)) == installed)
        // With its templates gone, an installed binary fails rather than reading a source tree that happens to exist.
        #expect(throws: VGPUError.self) {
            try TemplateStore.resolve(executable: "/usr/bin/vgpuctl", override: nil, sourceTree: source, exists: present(source))
        }
    }

    @Test func aPrefixInstallUsesItsOwnShareDirectoryBeforeTheSystemOne() throws {
        let local = "/usr/local/share/vgpuctl/xml-templates"
        #expect(try TemplateStore.resolve(executable: "/usr/local/bin/vgpuctl", override: nil, sourceTree: source, exists: present(local, installed)) == local)
        #expect(try TemplateStore.resolve(executable: "/usr/local/bin/vgpuctl", override: nil, sourceTree: source, exists: present(installed)) == installed)
    }

    @Test func aDevelopmentBuildUsesItsSourceTreeThenTheInstalledTemplates() throws {
        for executable in ["/src/vgpuctl/.build/debug/vgpuctl", "/src/vgpuctl/.build/x86_64-unknown-linux-gnu/release/vgpuctl",
                           "/src/vgpuctl/.build-release/release/vgpuctl"] {
            #expect(TemplateStore.isDevelopmentBuild(executable), "\(executable)")
            #expect(try TemplateStore.resolve(executable: executable, override: nil, sourceTree: source, exists: present(source, installed)) == source)
            #expect(try TemplateStore.resolve(executable: executable, override: nil, sourceTree: source, exists: present(installed)) == installed)
        }
        #expect(!TemplateStore.isDevelopmentBuild("/usr/bin/vgpuctl"))
        #expect(!TemplateStore.isDevelopmentBuild("/opt/builds/vgpuctl"))
    }

    @Test func theEnvironmentOverridesEverything() throws {
        let custom = "/etc/vgpuctl/xml-templates"
        for executable in ["/usr/bin/vgpuctl", "/src/vgpuctl/.build/debug/vgpuctl"] {
            #expect(try TemplateStore.resolve(executable: executable, override: custom, sourceTree: source, exists: present(custom, source, installed)) == custom)
            // Set but empty: ignored, as an unset variable.
            #expect(TemplateStore.candidates(executable: executable, override: "", sourceTree: source).first != "")
        }
    }

    @Test func theLiveResolverFindsThisSourceTreeForTheTestBinary() throws {
        // The test binary runs from .build: a development build, so it reads the repository's templates.
        let templates = try TemplateStore.load()
        #expect(templates.mdev.name.hasSuffix("/xml-templates/hostdev-mdev.xml"))
        #expect(!templates.mdev.name.hasPrefix("/usr/share/"))
    }

    /// The journal, the lock holder, the VF records and vgpuctl's own definitions name which domains hold which
    /// devices: every directory vgpuctl creates for them is 0700; mdevctl's directory keeps mdevctl's 0755.
    @Test func stateDirectoriesAreCreatedPrivate() throws {
        let host = try TestHost { try FixtureHosts.nvidiaVFIO(at: $0) }
        let os = LiveSystemCalls()
        let lock = try HostLock.acquire(paths: host.paths, os: os, wait: 0, holder: "test")
        defer { withExtendedLifetime(lock) {} }
        try VFRecords(paths: host.paths, os: os).record(uuid("0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50"), forVF: "0000:17:00.4")
        try DefinitionStore(paths: host.paths, os: os).write(Definition(uuid: uuid("0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50"), parent: "0000:17:00.4",
                                                                        type: "nvidia-1414", start: .manual, layout: .nvidiaVFIO))
        try DefinitionStore(paths: host.paths, os: os).write(Definition(uuid: uuid("1c2f6d5f-3e5b-4c9f-8c4f-6b2d3e4f5061"), parent: "mtty",
                                                                        type: "mtty-2", start: .manual))
        _ = try host.journal(os).begin(Plan(operation: "test", steps: []), command: "test")

        func mode(_ relative: String) -> mode_t? {
            var info = stat()
            return stat(host.root + "/" + relative, &info) == 0 ? info.st_mode & 0o7777 : nil
        }
        for directory in ["run/vgpuctl", "run/vgpuctl/vf", "var/lib/vgpuctl", "var/lib/vgpuctl/journal",
                          "var/lib/vgpuctl/definitions", "var/lib/vgpuctl/definitions/0000:17:00.4"] {
            #expect(mode(directory) == 0o700, "\(directory): \(String(mode(directory) ?? 0, radix: 8))")
        }
        for directory in ["run", "var", "var/lib", "etc/mdevctl.d", "etc/mdevctl.d/mtty"] {
            #expect(mode(directory) == 0o755, "\(directory): \(String(mode(directory) ?? 0, radix: 8))")
        }
        #expect(host.paths.directoryMode(host.root + "/run/vgpuctl") == 0o700)
        #expect(host.paths.directoryMode(host.root + "/run/vgpuctl-other") == 0o755, "a sibling sharing the prefix is not private")
    }
}
