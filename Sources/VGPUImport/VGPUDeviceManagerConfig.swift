import VGPUCore
import Yams

/// NVIDIA vgpu-device-manager's config file (its v0.2 to v0.5 format), read as it is into a `DeclaredLayout`, so a
/// site moving from it keeps its file (`vgpuctl apply --from-vgpu-device-manager FILE LABEL`):
///
///     version: v1
///     vgpu-configs:
///       small:                          # a label: what `vgpuctl apply` selects
///         - devices: [0, 1]             # `all`, or indices into the host's NVIDIA GPUs in PCI address order
///           device-filter: "0x20B510DE" # optional: a PCI ID (device, then vendor), or a list of them
///           vgpu-devices:
///             A100D-4C: 8               # vGPU type name -> count on each selected GPU
///
/// Parsing is pure (text in, value out) and checks the whole file, as vgpu-device-manager does; every mistake is
/// refused with the file, the line and the fix. Where vgpu-device-manager is lax (a device filter it cannot parse
/// silently matches no GPU; a key written twice silently keeps the last), this reader refuses.
public enum VGPUDeviceManagerConfig {
    /// The only version vgpu-device-manager knows.
    public static let version = "v1"
    static let topKeys = ["version", "vgpu-configs"]
    static let entryKeys = ["devices", "device-filter", "vgpu-devices"]
    /// No GPU offers more instances of a type; a bound that keeps sums of counts far from overflow.
    public static let maximumCount = 65535

    /// The layout a label selects: each entry of the label, in file order, with its `origin` (`FILE:LINE`).
    public static func parse(_ text: String, file: String, label: String) throws -> DeclaredLayout {
        let labels = try document(text, file: file)
        guard let selected = labels.first(where: { $0.name == label }) else {
            throw VGPUError(.invalidInput, "\(file): no label '\(Validation.printable(label))' under vgpu-configs",
                            fix: "the labels in \(file) are: \(labels.map(\.name).joined(separator: ", "))")
        }
        return DeclaredLayout(name: selected.name, entries: selected.entries)
    }

    /// The file's labels, in file order (after checking the whole file): what `vgpuctl apply
    /// --from-vgpu-device-manager FILE` lists when no label is given.
    public static func labels(_ text: String, file: String) throws -> [String] {
        try document(text, file: file).map(\.name)
    }

    /// The message `apply --from-vgpu-device-manager FILE` without a label gives: the labels to choose from.
    public static func missingLabel(_ text: String, file: String) throws -> VGPUError {
        let labels = try labels(text, file: file)
        return VGPUError(.invalidInput, "no label given for \(file)",
                         fix: "name one of its labels: \(labels.joined(separator: ", "))")
    }

    // MARK: - Which GPUs an entry selects

    /// A physical NVIDIA GPU as vgpu-device-manager selects it: by its place among the host's NVIDIA GPUs (PFs) in
    /// PCI address order, and by its PCI IDs.
    public struct GPU: Equatable, Sendable {
        /// The PF's PCI address (`0000:17:00.0`): the GPU id `types` shows.
        public var address: String
        /// `0x20b010de`: device, then vendor (sysfs `device` and `vendor`).
        public var id: String
        /// `0x151f10de`: the subsystem's device, then vendor (sysfs `subsystem_device` and `subsystem_vendor`).
        public var subsystem: String

        public init(address: String, id: String, subsystem: String) {
            self.address = address
            self.id = id.lowercased()
            self.subsystem = subsystem.lowercased()
        }
    }

    /// The layout with vgpu-device-manager's selection done for these GPUs: each entry names its GPUs by address
    /// (`.gpus`, no filter), as a native layout would. Its rules (`WalkSelectedVGPUConfigForEachGPU`,
    /// `MatchesDevices`, `MatchesDeviceFilter`, `DeviceID.Matches`): indices count all the host's NVIDIA GPUs in
    /// PCI address order; a GPU passes a filter that names its device and vendor (and its subsystem, where the
    /// filter has one); entries apply in order, so where several select a GPU the last one decides its vGPUs.
    /// GPUs no entry selects are left out (vgpu-device-manager leaves them as they are).
    public static func resolve(_ layout: DeclaredLayout, gpus: [GPU]) -> DeclaredLayout {
        let ordered = gpus.sorted { pciOrder($0.address) < pciOrder($1.address) }
        var decider: [Int?] = Array(repeating: nil, count: ordered.count)
        for (number, entry) in layout.entries.enumerated() {
            for (index, gpu) in ordered.enumerated() where selects(entry, gpu, index: index) {
                decider[index] = number
            }
        }
        var entries: [DeclaredLayout.Entry] = []
        for (number, entry) in layout.entries.enumerated() {
            let addresses = ordered.indices.filter { decider[$0] == number }.map { ordered[$0].address }
            guard !addresses.isEmpty else { continue }
            entries.append(DeclaredLayout.Entry(gpus: .gpus(addresses), vgpus: entry.vgpus, origin: entry.origin))
        }
        return DeclaredLayout(name: layout.name, entries: entries)
    }

    static func selects(_ entry: DeclaredLayout.Entry, _ gpu: GPU, index: Int) -> Bool {
        let passes = entry.deviceFilter.isEmpty || entry.deviceFilter.contains { filter in
            let parts = filter.split(separator: ":")
            return parts[0] == gpu.id && (parts.count == 1 || parts[1] == gpu.subsystem)
        }
        switch entry.gpus {
        case .all: return passes
        case .indices(let indices): return passes && indices.contains(index)
        case .gpus, .group: return false
        }
    }

    /// `DDDD:BB:DD.F` as one number, as go-nvlib sorts them (hex digits of the address).
    static func pciOrder(_ address: String) -> UInt64 {
        UInt64(address.filter(\.isHexDigit), radix: 16) ?? .max
    }

    // MARK: - The document

    struct Label {
        var name: String
        var entries: [DeclaredLayout.Entry]
    }

    static func document(_ text: String, file: String) throws -> [Label] {
        func fail(_ node: Node?, _ message: String, fix: String) -> VGPUError {
            VGPUError(.invalidInput, "\(file):\(node?.mark?.line ?? 1): \(message)", fix: fix)
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw yamlError(error, file: file)
        }
        let start = "start the file with `version: v1`, then `vgpu-configs:` and its labels"
        guard let root, case .mapping(let top) = root else {
            throw fail(root, root == nil ? "the file is empty" : "the file is \(kind(root!)), not a vgpu-device-manager config",
                       fix: start)
        }
        var versionSeen = false
        var configs: Node?
        for (key, value) in top {
            switch try keyName(key, file: file) {
            case "version":
                guard isString(value), value.string == version else {
                    throw fail(value, "unknown version '\(Validation.printable(scalarText(value)))'",
                               fix: "vgpu-device-manager has one version: write `version: v1`")
                }
                versionSeen = true
            case "vgpu-configs":
                configs = value
            case let other:
                throw fail(key, "unknown key '\(Validation.printable(other))' at the top of the file",
                           fix: "the keys at the top are: \(topKeys.joined(separator: ", "))")
            }
        }
        guard versionSeen else { throw fail(root, "the file has no `version`", fix: "add `version: v1` at the top") }
        guard let configs else {
            throw fail(root, "the file has no `vgpu-configs`",
                       fix: "add `vgpu-configs:` with a label, e.g. `small:` and its entries (see the README)")
        }
        guard case .mapping(let labelNodes) = configs, !labelNodes.isEmpty else {
            let what = configs.mapping != nil ? "vgpu-configs has no labels" : "vgpu-configs is \(kind(configs)), but must map labels to lists of entries"
            throw fail(configs, what, fix: "write each label under vgpu-configs, indented, with its list of entries")
        }
        var labels: [Label] = []
        for (key, value) in labelNodes {
            let name = try keyName(key, file: file)
            labels.append(Label(name: name, entries: try entries(of: name, value, file: file)))
        }
        return labels
    }

    static func entries(of label: String, _ node: Node, file: String) throws -> [DeclaredLayout.Entry] {
        func fail(_ node: Node, _ message: String, fix: String) -> VGPUError {
            VGPUError(.invalidInput, "\(file):\(node.mark?.line ?? 1): \(message)", fix: fix)
        }
        let shape = "- devices: all\n    vgpu-devices:\n      TYPE: COUNT"
        guard case .sequence(let items) = node else {
            throw fail(node, "label '\(Validation.printable(label))' is \(kind(node)), but must be a list of entries",
                       fix: "write its entries as a list: \(shape)")
        }
        guard !items.isEmpty else {
            throw fail(node, "label '\(Validation.printable(label))' has no entries", fix: "add an entry: \(shape)")
        }
        // vgpu-device-manager v0.1 listed bare type names under a label and filled every GPU that offered one of
        // them, types dealt out across GPUs in an order Go's map iteration picked. No counts, no fixed meaning.
        if items.contains(where: { if case .scalar = $0 { return true } else { return false } }) {
            let types = items.compactMap(\.string).map(Validation.printable).joined(separator: ", ")
            throw fail(node, "label '\(Validation.printable(label))' lists bare vGPU types (\(types)): vgpu-device-manager v0.1's format, which says neither which GPUs nor how many",
                       fix: "write it as v0.2 and later do, with a count per GPU (`vgpuctl types` shows each type's maximum): \(shape)")
        }
        return try items.map { try entry($0, label: label, file: file) }
    }

    static func entry(_ node: Node, label: String, file: String) throws -> DeclaredLayout.Entry {
        func fail(_ node: Node, _ message: String, fix: String) -> VGPUError {
            VGPUError(.invalidInput, "\(file):\(node.mark?.line ?? 1): \(message)", fix: fix)
        }
        guard case .mapping(let pairs) = node else {
            throw fail(node, "an entry of label '\(Validation.printable(label))' is \(kind(node)), but must be a mapping",
                       fix: "give each entry `devices` and `vgpu-devices` (and optionally `device-filter`)")
        }
        var gpus: DeclaredLayout.Selector?
        var filter: [String] = []
        var vgpus: [DeclaredLayout.TypeCount]?
        for (key, value) in pairs {
            switch try keyName(key, file: file) {
            case "devices":
                gpus = try devices(value, file: file)
            case "device-filter":
                filter = try deviceFilter(value, file: file)
            case "vgpu-devices":
                vgpus = try vgpuDevices(value, file: file)
            case let other:
                throw fail(key, "unknown key '\(Validation.printable(other))' in an entry of label '\(Validation.printable(label))'",
                           fix: "the keys of an entry are: \(entryKeys.joined(separator: ", "))")
            }
        }
        guard let gpus else {
            throw fail(node, "an entry of label '\(Validation.printable(label))' has no `devices`",
                       fix: "add `devices: all`, or the GPUs' indices in PCI address order, e.g. `devices: [0, 1]`")
        }
        guard let vgpus else {
            throw fail(node, "an entry of label '\(Validation.printable(label))' has no `vgpu-devices`",
                       fix: "add `vgpu-devices:` with a vGPU type and its count per GPU, e.g. `A100-4C: 10`")
        }
        return DeclaredLayout.Entry(gpus: gpus, deviceFilter: filter, vgpus: vgpus, origin: "\(file):\(node.mark?.line ?? 1)")
    }

    // MARK: - The values

    /// `all`, or a list of indices (vgpu-device-manager's `[]int`).
    static func devices(_ node: Node, file: String) throws -> DeclaredLayout.Selector {
        let fix = "write `devices: all`, or the GPUs' indices in PCI address order (0 is the first), e.g. `devices: [0, 2]`"
        switch node {
        case .scalar where isString(node) && node.string == "all":
            return .all
        case .sequence(let items):
            var indices: [Int] = []
            for item in items {
                guard has(item, .int), let index = item.int, index >= 0 else {
                    throw VGPUError(.invalidInput, "\(file):\(item.mark?.line ?? 1): devices lists '\(Validation.printable(scalarText(item)))', which is not a GPU index",
                                    fix: fix)
                }
                indices.append(index)
            }
            return .indices(indices)
        default:
            throw VGPUError(.invalidInput, "\(file):\(node.mark?.line ?? 1): devices is '\(Validation.printable(scalarText(node)))'", fix: fix)
        }
    }

    /// One PCI ID or a list of them; null, "" or an empty list: no filter (as vgpu-device-manager reads them).
    static func deviceFilter(_ node: Node, file: String) throws -> [String] {
        switch node {
        case .scalar where has(node, .null):
            return []
        case .scalar where isString(node):
            let text = node.string ?? ""
            return text.isEmpty ? [] : [try deviceID(text, node: node, file: file)]
        case .sequence(let items):
            return try items.map { item in
                guard isString(item), let text = item.string else {
                    throw VGPUError(.invalidInput, "\(file):\(item.mark?.line ?? 1): device-filter lists \(kind(item)), not a PCI ID",
                                    fix: "quote each PCI ID: \"0x20B010DE\"")
                }
                return try deviceID(text, node: item, file: file)
            }
        default:
            throw VGPUError(.invalidInput, "\(file):\(node.mark?.line ?? 1): device-filter is \(kind(node)), not a PCI ID",
                            fix: "write one PCI ID, \"0x20B010DE\", or a list of them, [\"0x20B010DE\", \"0x20B510DE\"]")
        }
    }

    /// `0xDDDDVVVV` (device, then vendor), optionally `:0xSSSSVVVV` (the subsystem's device and vendor), as
    /// vgpu-device-manager writes them; returned in one spelling: lowercase, `0x20b010de` or `0x20b010de:0x151f10de`.
    static func deviceID(_ text: String, node: Node, file: String) throws -> String {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let wellFormed = (1...2).contains(parts.count) && parts.allSatisfy { part in
            part.count == 10 && (part.hasPrefix("0x") || part.hasPrefix("0X"))
                && part.dropFirst(2).allSatisfy(\.isHexDigit) && part.dropFirst(2).allSatisfy(\.isASCII)
        }
        guard wellFormed else {
            throw VGPUError(.invalidInput, "\(file):\(node.mark?.line ?? 1): device-filter '\(Validation.printable(text))' is not a PCI ID",
                            fix: "write the device ID then the vendor ID as 8 hex digits after 0x, e.g. \"0x20B010DE\", optionally followed by the subsystem's, \":0x151F10DE\" (`lspci -nn` shows them)")
        }
        return text.lowercased()
    }

    /// Type name -> count, in file order. Null or `{}`: no vGPUs on the selected GPUs (vgpu-device-manager
    /// clears them).
    static func vgpuDevices(_ node: Node, file: String) throws -> [DeclaredLayout.TypeCount] {
        if case .scalar = node, has(node, .null) { return [] }
        guard case .mapping(let pairs) = node else {
            throw VGPUError(.invalidInput, "\(file):\(node.mark?.line ?? 1): vgpu-devices is \(kind(node)), but must map vGPU types to counts",
                            fix: "write each type and its count per GPU on a line of its own under vgpu-devices, e.g. `A100-4C: 10`")
        }
        var counts: [DeclaredLayout.TypeCount] = []
        var timeSliced: (type: String, line: Int)?
        var migBacked: (type: String, line: Int)?
        for (key, value) in pairs {
            let line = key.mark?.line ?? 1
            let type = try keyName(key, file: file)
            guard let kind = VGPUTypeName.kind(of: type) else {
                throw VGPUError(.invalidInput, "\(file):\(line): '\(Validation.printable(type))' is not an NVIDIA vGPU type name",
                                fix: "write the type's name as NVIDIA's vGPU documentation and `vgpuctl types` show it, e.g. A100-4C, T4-8Q or A100-1-5C (MIG-backed)")
            }
            switch kind {
            case .timeSliced: timeSliced = timeSliced ?? (type, line)
            case .migBacked: migBacked = migBacked ?? (type, line)
            }
            if let timeSliced, let migBacked {
                throw VGPUError(.invalidInput, "\(file):\(line): vgpu-devices mixes time-sliced \(timeSliced.type) (line \(timeSliced.line)) and MIG-backed \(migBacked.type) (line \(migBacked.line))",
                                fix: "a GPU runs either kind, not both: keep one kind in this entry")
            }
            guard has(value, .int), let count = value.int, (1...maximumCount).contains(count) else {
                throw VGPUError(.invalidInput, "\(file):\(value.mark?.line ?? line): the count of \(type) is '\(Validation.printable(scalarText(value)))'",
                                fix: "give the number of \(type) vGPUs each selected GPU should have, 1 to \(maximumCount); to have none, leave the type out")
            }
            counts.append(DeclaredLayout.TypeCount(type: type, count: count))
        }
        return counts
    }

    // MARK: - Helpers

    /// A mapping key: a scalar (YAML allows a list or a mapping as a key; vgpu-device-manager does not).
    static func keyName(_ node: Node, file: String) throws -> String {
        guard case .scalar(let scalar) = node else {
            throw VGPUError(.invalidInput, "\(file):\(node.mark?.line ?? 1): a key is \(kind(node))", fix: "write keys as plain names")
        }
        if scalar.string == "<<" && has(node, .merge) {
            throw VGPUError(.invalidInput, "\(file):\(node.mark?.line ?? 1): a merge key (<<) here",
                            fix: "write the keys out where they are used (anchors and aliases of whole values are fine)")
        }
        return scalar.string
    }

    /// Whether a node's tag, resolved as YAML 1.1 does for plain scalars (`4` an int, `0x10DE` an int, `"4"` a
    /// string), is this one.
    static func has(_ node: Node, _ tag: Tag.Name) -> Bool { node.tag.rawValue == tag.rawValue }

    static func isString(_ node: Node) -> Bool {
        if case .scalar = node { return has(node, .str) }
        return false
    }

    /// What a value is, for messages about the wrong kind.
    static func kind(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar:
            switch node.tag.rawValue {
            case Tag.Name.null.rawValue: return "empty"
            case Tag.Name.int.rawValue, Tag.Name.float.rawValue: return "a number"
            case Tag.Name.bool.rawValue: return "true or false"
            default: return "a string"
            }
        }
    }

    /// A scalar's text, or what kind of value it is.
    static func scalarText(_ node: Node) -> String {
        if case .scalar(let scalar) = node, !has(node, .null) { return scalar.string }
        return kind(node)
    }

    static func yamlError(_ error: Error, file: String) -> VGPUError {
        let fix = "check the indentation and quoting on that line (a YAML file: spaces, not tabs)"
        switch error {
        case YamlError.scanner(_, let problem, let mark, _), YamlError.parser(_, let problem, let mark, _),
             YamlError.composer(_, let problem, let mark, _):
            return VGPUError(.invalidInput, "\(file):\(mark.line): not valid YAML: \(problem)", fix: fix)
        case YamlError.duplicatedKeysInMapping(let keys, let context):
            let names = keys.map { "'\(Validation.printable($0))'" }.joined(separator: ", ")
            return VGPUError(.invalidInput, "\(file):\(context.mark.line): \(names) written twice in one mapping",
                             fix: "keep one of them (vgpu-device-manager would silently take the last)")
        case YamlError.reader(let problem, _, _, _):
            return VGPUError(.invalidInput, "\(file): not valid YAML: \(problem)", fix: "save the file as UTF-8 text")
        default:
            return VGPUError(.invalidInput, "\(file): not valid YAML: \(error)", fix: fix)
        }
    }
}

/// NVIDIA's vGPU type names, as vgpu-device-manager accepts them (its `ParseVGPUType`): time-sliced
/// `GPU-<GB><series>` (`A100-4C`, `M60-0Q`, `RTX6000-Ada-24Q`) and MIG-backed `GPU-<G>-<GB><series>[attribute]`
/// (`A100-1-5C`, `DC-1-24QGFX`); the series is A, B, C or Q.
enum VGPUTypeName {
    enum Kind { case timeSliced, migBacked }

    static func kind(of name: String) -> Kind? {
        var parts = name.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2, let last = parts.popLast(), isGPU(parts[0]) else { return nil }
        // MIG-backed: GPU, G (1-9), then GB + series + attribute.
        if parts.count == 2, parts[1].count == 1, let g = parts[1].first, ("1"..."9").contains(g),
           let rest = sizeAndSeries(last), ["", "ME", "NOME", "MEALL", "GFX"].contains(rest) {
            return .migBacked
        }
        // Time-sliced: GPU, then words of letters (`Ada`), then GB + series.
        guard parts.dropFirst().allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isLetter } }),
              sizeAndSeries(last) == "" else { return nil }
        return .timeSliced
    }

    /// `[A-Z0-9]+`
    static func isGPU(_ text: String) -> Bool {
        !text.isEmpty && text.allSatisfy { $0.isASCII && ($0.isUppercase || $0.isNumber) }
    }

    /// `(0|[1-9][0-9]*)[ABCQ]`, returning what follows it; nil where it does not start so.
    static func sizeAndSeries(_ text: String) -> String? {
        let digits = text.prefix(while: { $0.isASCII && $0.isNumber })
        guard !digits.isEmpty, digits == "0" || !digits.hasPrefix("0") else { return nil }
        let rest = text.dropFirst(digits.count)
        guard let series = rest.first, "ABCQ".contains(series) else { return nil }
        return String(rest.dropFirst())
    }
}
