import FoundationEssentials
import VGPUCore

/// Persistent definitions on disk. mdev vGPUs live where mdevctl keeps them, in its format
/// (`/etc/mdevctl.d/<parent>/<uuid>`), so either tool starts what the other defined; vendor-specific VFIO
/// vGPUs, which mdevctl does not know, live in the same format under `/var/lib/vgpuctl/definitions/<vf>/<uuid>`.
/// Every write is atomic (see `replaceAtomically`): a definition is always whole, never a stray temporary.
public struct DefinitionStore: Sendable {
    public let paths: HostPaths
    public let os: SystemCalls

    public init(paths: HostPaths, os: SystemCalls) {
        self.paths = paths
        self.os = os
    }

    var vfioDirectory: String { Paths.join(paths.stateDirectory, "definitions") }

    public func path(of definition: Definition) -> String {
        let base = definition.layout == .mdev ? paths.mdevctlDefinitions : vfioDirectory
        return Paths.join(base, "\(definition.parent)/\(definition.uuid.text)")
    }

    /// `durable: false` is for a plan whose runner makes everything durable at its end (`StepRunner.makeDurable`).
    public func write(_ definition: Definition, durable: Bool = true) throws {
        do {
            try os.replaceAtomically(path(of: definition), with: Self.encode(definition), durable: durable,
                                     directoryMode: paths.directoryMode)
        } catch {
            throw VGPUError(.host, "could not write the definition of vGPU \(definition.uuid): \(error)",
                            fix: "check that \(Paths.dirname(path(of: definition))) is writable (run as root)")
        }
    }

    /// `modify`: the new definition replaces the old one (atomically when both are one file).
    public func replace(_ old: Definition, with new: Definition, durable: Bool = true) throws {
        if path(of: old) != path(of: new) { try delete(old, durable: durable) }
        try write(new, durable: durable)
    }

    /// Deleting a definition that is already gone succeeds: recovery may repeat this step.
    public func delete(_ definition: Definition, durable: Bool = true) throws {
        do {
            try os.removeDurably(path(of: definition), durable: durable)
        } catch {
            throw VGPUError(.host, "could not delete the definition of vGPU \(definition.uuid): \(error)",
                            fix: "check that \(Paths.dirname(path(of: definition))) is writable (run as root)")
        }
    }

    /// Makes durable every definition written or deleted with `durable: false`: one syncfs of each file system
    /// holding a definition directory (usually one), where each file would take two fsyncs.
    public func makeDurable() throws {
        for base in [paths.mdevctlDefinitions, vfioDirectory] where os.isDirectory(base) {
            do { try os.syncFileSystem(containing: base) } catch {
                throw VGPUError(.host, "could not make the definitions under \(base) durable: \(error)",
                                fix: "check the file system holding \(base) (dmesg), then run 'vgpuctl recover'")
            }
        }
    }

    /// Every definition, and a problem line for each file that could not be read (reported, never fatal: one
    /// bad file must not stop the host).
    public func all() -> (definitions: [Definition], problems: [String]) {
        var definitions: [Definition] = [], problems: [String] = []
        for (base, layout) in [(paths.mdevctlDefinitions, Layout.mdev), (vfioDirectory, .nvidiaVFIO)] {
            // scripts.d holds mdevctl's callouts and notifiers, not a parent's definitions.
            for parent in (try? os.list(base)) ?? [] where parent != "scripts.d" && os.isDirectory(Paths.join(base, parent)) {
                let directory = Paths.join(base, parent)
                // Hidden names are temporaries (ours, or an editor's); anything else that is not a UUID is not a definition.
                for name in (try? os.list(directory)) ?? [] where !name.hasPrefix(".") {
                    let file = Paths.join(directory, name)
                    guard let uuid = try? DeviceUUID(parsing: name), uuid.text == name else {
                        problems.append("\(file): ignored, the file name is not a lower-case UUID")
                        continue
                    }
                    do {
                        definitions.append(try Self.decode(os.read(file), uuid: uuid, parent: parent, layout: layout, path: file))
                    } catch let error as VGPUError {
                        problems.append(error.message)
                    } catch {
                        problems.append("\(file): \(error)")
                    }
                }
            }
        }
        return (definitions, problems)
    }

    // MARK: mdevctl's format

    private struct FileFormat: Codable {
        var mdev_type: String
        var start: String
        var attrs: [[String: String]]?
    }

    /// mdevctl's bytes: serde_json's pretty printer (two-space indent, keys in mdevctl's order, one object per
    /// attribute, no newline at the end), so a file either tool writes is the same file.
    public static func encode(_ definition: Definition) -> String {
        let attributes = definition.attributes.isEmpty ? "[]" : "[\n" + definition.attributes.map {
            "    {\n      \(jsonString($0.name)): \(jsonString($0.value))\n    }"
        }.joined(separator: ",\n") + "\n  ]"
        return """
            {
              "mdev_type": \(jsonString(definition.type)),
              "start": "\(definition.start.rawValue)",
              "attrs": \(attributes)
            }
            """
    }

    /// The compact form mdevctl gives callouts on stdin: `{"mdev_type":"…","start":"…","attrs":[{"name":"value"}]}`.
    public static func compactJSON(_ definition: Definition) -> String {
        let attributes = definition.attributes.map { "{\(jsonString($0.name)):\(jsonString($0.value))}" }
        return "{\"mdev_type\":\(jsonString(definition.type)),\"start\":\"\(definition.start.rawValue)\",\"attrs\":[\(attributes.joined(separator: ","))]}"
    }

    public static func decode(_ text: String, uuid: DeviceUUID, parent: String, layout: Layout, path: String) throws -> Definition {
        let file: FileFormat
        do {
            file = try JSONDecoder().decode(FileFormat.self, from: Data(text.utf8))
        } catch {
            throw VGPUError(.invalidInput, "\(path): not a definition (mdevctl's JSON with mdev_type and start): \(error)",
                            fix: "fix or remove the file; 'mdevctl define' and 'vgpuctl define' write valid ones")
        }
        guard let start = Definition.Start(rawValue: file.start) else {
            throw VGPUError(.invalidInput, "\(path): start is '\(Validation.printable(file.start))'", fix: "use \"auto\" or \"manual\"")
        }
        // The file's name, as every other refusal here gives it: `all` reports only the message.
        do { _ = try Validation.typeName(file.mdev_type) } catch let error as VGPUError {
            throw VGPUError(.invalidInput, "\(path): \(error.message)", fix: error.fix)
        }
        // One name and value per object, as mdevctl requires: with more, their order would be lost.
        if let index = (file.attrs ?? []).firstIndex(where: { $0.count != 1 }) {
            throw VGPUError(.invalidInput, "\(path): attribute \(index) has \(file.attrs![index].count) fields",
                            fix: "give each attribute as its own object, {\"name\": \"value\"}, in the order they are written")
        }
        let attributes = (file.attrs ?? []).flatMap { $0.map { Definition.Attribute(name: $0.key, value: $0.value) } }
        return Definition(uuid: uuid, parent: parent, type: file.mdev_type, start: start, layout: layout, attributes: attributes)
    }

    static func jsonString(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\u{8}": out += "\\b"
            case "\u{c}": out += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
