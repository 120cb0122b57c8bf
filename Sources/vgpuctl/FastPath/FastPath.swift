#if canImport(Glibc)
import Glibc
#endif
import VGPUApp
import VGPUCore

/// The hot, simple command forms (`--version` aside: main.swift), answered before ArgumentParser is touched: its
/// reflection over the command tree (the Swift runtime's protocol-conformance scans) is most of a short command's
/// cost. A form is taken only when every argument is one this file knows, in its plain spelling, and passes the
/// command's own validation; anything else (an unknown, repeated or `--name=value` option, a missing or dash-led
/// value, `--`, invalid input: every error ArgumentParser would report) returns nil and goes to ArgumentParser, so
/// its messages stay its own. Each form runs the same code as its command's run(). Tests/VGPUCtlTests proves both paths print the same bytes and
/// exit with the same code; `VGPUCTL_NO_FAST_PATH=1` turns this off (for that test).
enum FastPath {
    enum Command: Equatable {
        case help
        case types(root: String?, sysfsRoot: String?, parent: String?, json: Bool)
        case createOnDomain(type: String, vm: String, root: String?, sysfsRoot: String?, connect: String?)
        case destroy(vm: String, root: String?, sysfsRoot: String?, connect: String?)
    }

    static let hostOptions = ["--root", "--sysfs-root"]

    /// The command `arguments` (without argv[0]) spell, if it is one of the fast forms.
    static func command(_ arguments: [String]) -> Command? {
        switch arguments {
        case ["--help"], ["-h"]: return HelpText.fits ? .help : nil
        default: break
        }
        guard let name = arguments.first else { return nil }
        let rest = arguments.dropFirst()
        switch name {
        case "types":
            guard let o = Options(rest, values: hostOptions + ["--parent"], flags: ["--json"]) else { return nil }
            if let parent = o["--parent"], (try? Validation.parentName(parent)) == nil { return nil }
            return .types(root: o["--root"], sysfsRoot: o["--sysfs-root"], parent: o["--parent"], json: o.has("--json"))
        case "create":
            guard let o = Options(rest, values: hostOptions + ["--type", "--vm", "--connect"], flags: []),
                  let type = o["--type"], let vm = o["--vm"],
                  (try? Validation.typeName(type)) != nil, (try? Validation.domainName(vm)) != nil else { return nil }
            return .createOnDomain(type: type, vm: vm, root: o["--root"], sysfsRoot: o["--sysfs-root"], connect: o["--connect"])
        case "destroy":
            guard let o = Options(rest, values: hostOptions + ["--vm", "--connect"], flags: []),
                  let vm = o["--vm"], (try? Validation.domainName(vm)) != nil else { return nil }
            return .destroy(vm: vm, root: o["--root"], sysfsRoot: o["--sysfs-root"], connect: o["--connect"])
        default:
            return nil
        }
    }

    /// Runs `command` as its ArgumentParser command would, and exits. `helpText`: `--help` at 80 columns, written
    /// at build time from the commands' declarations.
    static func run(_ command: Command, helpText: String) -> Never {
        do {
            switch command {
            case .help:
                Console.out(helpText)
            case let .types(root, sysfsRoot, parent, json):
                try TypesCommand.run(application(root: root, sysfsRoot: sysfsRoot, connect: nil), parent: parent, json: json)
            case let .createOnDomain(type, vm, root, sysfsRoot, connect):
                try CreateCommand.runOnDomain(application(root: root, sysfsRoot: sysfsRoot, connect: connect), type: type, vm: vm)
            case let .destroy(vm, root, sysfsRoot, connect):
                try DestroyCommand.run(application(root: root, sysfsRoot: sysfsRoot, connect: connect), vm: vm)
            }
            exit(0)
        } catch {
            exitWithError(error)
        }
    }

    /// What `HostOptions.application` gives the same command with every other option at its default.
    static func application(root: String?, sysfsRoot: String?, connect: String?) -> Application {
        Application(environment: Environment.resolve(root: root, sysfsRoot: sysfsRoot, connect: connect), lockWait: LockOptions.defaultWait,
                    libvirt: LibvirtSettings(detachTimeout: LibvirtOptions.defaultDetachTimeout), command: HostOptions.commandLine)
    }

    /// A command's options in their plain spelling: `--name value` for `values`, `--name` for `flags`, each at most
    /// once, values neither empty nor starting with '-'. Nil for anything else. Arrays, not Set or Dictionary: their
    /// Hashable requirement would cost a protocol-conformance scan, the very cost this file avoids.
    struct Options {
        var values: [(name: String, value: String)] = []
        var flags: [String] = []

        init?(_ arguments: ArraySlice<String>, values valueNames: [String], flags flagNames: [String]) {
            var index = arguments.startIndex
            while index < arguments.endIndex {
                let name = arguments[index]
                if flagNames.contains(name) {
                    guard !has(name) else { return nil }
                    flags.append(name)
                    index += 1
                    continue
                }
                guard valueNames.contains(name), self[name] == nil, index + 1 < arguments.endIndex else { return nil }
                let value = arguments[index + 1]
                guard let first = value.utf8.first, first != UInt8(ascii: "-") else { return nil }
                values.append((name, value))
                index += 2
            }
        }

        subscript(name: String) -> String? { values.first { $0.name == name }?.value }
        func has(_ flag: String) -> Bool { flags.contains(flag) }
    }
}
