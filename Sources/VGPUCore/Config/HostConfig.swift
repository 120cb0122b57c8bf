/// The host config file (`/etc/vgpuctl/vgpuctl.conf`, TOML 1.0): GPU groups, their policies, per-GPU rules, the
/// daemon's settings, and declared vGPU layouts.
///
///     layout = "inference"           # the layout a bare 'vgpuctl apply' and vgpud apply (optional)
///
///     [groups.training]              # a pool of physical GPUs
///     policy = "spread"              # pack | spread
///     gpus = ["0000:17:00.0", "0000:65:00.0"]
///
///     [groups.default]               # the group of every GPU no other group names (no `gpus` key)
///     policy = "pack"
///
///     [gpus."0000:17:00.0"]          # rules for one physical GPU (PF address, or the parent's name)
///     types = ["nvidia-1414"]        # reserved: only these types
///     heterogeneous = false          # may host different types at once (NVIDIA default: false)
///     sriov_numvfs = 8               # vgpud enables this many SR-IOV VFs at start (PF address tables only)
///
///     [vgpud]                        # the daemon (command-line options override these)
///     reconcile_interval = 300       # seconds between reconcile runs
///     prune = false                  # may its reconcile remove orphaned vGPUs
///
///     [hook]                         # the libvirt hook (VGPUCTL_HOOK_WAIT overrides, where it reaches the hook)
///     lock_wait = 10                 # seconds it waits for the host lock before refusing the start
///
///     [[layouts.inference.entries]]  # a declared layout: what each GPU should offer ('vgpuctl apply NAME')
///     gpus = "all"                   # "all", or a list of GPU ids (PF PCI addresses or parent names)
///     vgpus = { "nvidia-1414" = 4 }  # type ID or type name -> instances on each selected GPU, in order
///
///     [[layouts.inference.entries]]
///     group = "training"             # instead of gpus: every GPU of [groups.training]
///     vgpus = { "A100-10C" = 2 }
///
/// Any TOML 1.0 spelling of the same data is the same config (TOMLDocument). Parsing is pure; every mistake is
/// refused with the file, the line and the fix.
public enum HostConfig {
    static let topKeys = ["layout", "groups", "gpus", "vgpud", "hook", "layouts"]
    static let groupKeys = ["policy", "gpus"]
    static let gpuKeys = ["types", "heterogeneous", "sriov_numvfs"]
    static let daemonKeys = ["reconcile_interval", "prune"]
    static let hookKeys = ["lock_wait"]
    static let layoutKeys = ["entries"]
    static let entryKeys = ["gpus", "group", "vgpus"]
    /// PCI allows at most 65535 VFs per PF (TotalVFs is 16 bits).
    static let maximumVFs = 65535
    /// Instances of one type on one GPU: far above any real GPU's, and what sriov_numvfs allows.
    static let maximumCount = 65535

    /// What each key must hold, for "wrong kind" messages.
    static let expected = [
        "layout": "a string (a layout's name)", "groups": "a table ([groups.NAME])", "gpus": "an array of strings",
        "vgpud": "a table ([vgpud])", "layouts": "a table ([[layouts.NAME.entries]])",
        "policy": "a string (\"pack\" or \"spread\")", "types": "an array of strings", "heterogeneous": "true or false",
        "sriov_numvfs": "an integer", "reconcile_interval": "an integer (seconds)", "lock_wait": "an integer (seconds)", "hook": "a table ([hook])", "prune": "true or false",
        "entries": "an array of tables ([[layouts.NAME.entries]])", "group": "a string (a group's name)",
        "vgpus": "a table of type = count ({ \"nvidia-1414\" = 4 })",
    ]

    public static func parse(_ text: String, file: String) throws -> PlacementConfig {
        try parse(bytes: Array(text.utf8), file: file)
    }

    /// The file's bytes as read: bytes that are not UTF-8 are refused with their line (a String would have
    /// replaced them).
    public static func parse(bytes: [UInt8], file: String) throws -> PlacementConfig {
        let document = try TOMLDocument(parsing: bytes, file: file)
        var reader = Reader(file: file)
        return try reader.config(document.root)
    }

    /// `DDDD:BB:DD.F`, as sysfs names PCI functions.
    static func isPCIAddress(_ text: String) -> Bool { ParentEvent.isPCIAddress(text) }

    private struct Reader {
        let file: String
        var groups: [GPUGroup] = []
        var groupOfGPU: [String: (group: String, line: Int)] = [:]
        var rules: [String: GPURules] = [:]
        var daemon = DaemonSettings()
        var hookLockWait: Int?
        var layouts: [String: DeclaredLayout] = [:]
        /// Each entry's `group = "NAME"`, checked once every group is known (groups may come after layouts).
        var groupReferences: [(group: String, line: Int, layout: String)] = []

        init(file: String) {
            self.file = file
        }

        func fail(_ line: Int, _ message: String, fix: String) -> VGPUError {
            VGPUError(.invalidInput, "\(file):\(line): \(message)", fix: fix)
        }

        mutating func config(_ root: TOMLDocument.Table) throws -> PlacementConfig {
            var selected: (name: String, line: Int)?
            for entry in root.entries {
                switch (entry.key, entry.node.value) {
                case ("layout", .string(let name)):
                    selected = (try checkedName(name, what: "layout name", line: entry.line), entry.line)
                case ("groups", .table(let table)):
                    for group in table.entries { try self.group(group) }
                case ("gpus", .table(let table)):
                    for gpu in table.entries { try self.gpu(gpu) }
                case ("vgpud", .table(let table)):
                    try self.daemon(table)
                case ("hook", .table(let table)):
                    try self.hook(table)
                case ("layouts", .table(let table)):
                    for layout in table.entries { try self.layout(layout) }
                case (let key, .table) where !topKeys.contains(key):
                    throw fail(entry.line, "unknown table [\(Validation.printable(key))]",
                               fix: "the tables are [groups.NAME], [gpus.\"ADDRESS\"], [vgpud], [hook] and [[layouts.NAME.entries]]")
                case (let key, _) where !topKeys.contains(key):
                    throw fail(entry.line, "'\(Validation.printable(key))' is outside any table",
                               fix: "put settings under [groups.NAME] or [gpus.\"ADDRESS\"]; the only top-level key is layout = \"NAME\"")
                default:
                    throw mistyped(entry, in: "the top level")
                }
            }
            if !groups.contains(where: { $0.gpus.isEmpty }) {
                groups.append(GPUGroup(name: PlacementConfig.defaultGroupName, policy: PlacementConfig.defaultPolicy, gpus: []))
            }
            let groupNames = groups.map(\.name)
            for reference in groupReferences where !groupNames.contains(reference.group) {
                throw fail(reference.line, "layout \(reference.layout) names group '\(reference.group)', which is not defined",
                           fix: "define [groups.\(reference.group)], or use one of: \(groupNames.joined(separator: ", "))")
            }
            if let selected, layouts[selected.name] == nil {
                let known = layouts.keys.sorted()
                throw fail(selected.line, "layout = \"\(selected.name)\" names no layout of this file",
                           fix: known.isEmpty ? "declare it: [[layouts.\(selected.name).entries]]"
                                              : "declare [[layouts.\(selected.name).entries]], or select one of: \(known.joined(separator: ", "))")
            }
            return PlacementConfig(groups: groups, rules: rules, daemon: daemon, layouts: layouts, selectedLayout: selected?.name,
                                   hookLockWait: hookLockWait)
        }

        mutating func group(_ entry: TOMLDocument.Entry) throws {
            let name = try checkedName(entry.key, what: "group name", line: entry.line)
            guard case .table(let table) = entry.node.value else {
                throw fail(entry.line, "'groups.\(name)' is \(entry.node.value.kind), but must be a table ([groups.\(name)])",
                           fix: "write the group as a table: [groups.\(name)] with policy and gpus under it")
            }
            var group = GPUGroup(name: name, policy: PlacementConfig.defaultPolicy, gpus: [])
            var listsGPUs = false
            for setting in table.entries {
                switch (setting.key, setting.node.value) {
                case ("policy", .string(let text)):
                    guard let policy = PlacementPolicy(rawValue: text) else {
                        throw fail(setting.line, "unknown policy '\(Validation.printable(text))' in [groups.\(name)]",
                                   fix: "use \"pack\" (fill one GPU first) or \"spread\" (one per GPU in turn)")
                    }
                    group.policy = policy
                case ("gpus", .array(let items)):
                    listsGPUs = true
                    let gpus = try strings(items, of: setting, what: "GPU")
                    guard !gpus.isEmpty else {
                        throw fail(setting.line, "group \(name) lists no GPUs",
                                   fix: "list its GPUs, or drop the gpus key to make it the group of every other GPU")
                    }
                    for (gpu, line) in gpus {
                        if let earlier = groupOfGPU[gpu] {
                            throw fail(line, "GPU \(gpu) is in group \(earlier.group) (line \(earlier.line)) and in group \(name)",
                                       fix: "a GPU belongs to one group: remove it from one of them")
                        }
                        groupOfGPU[gpu] = (name, line)
                    }
                    group.gpus = gpus.map(\.value)
                default:
                    throw unknownOrMistyped(setting, allowed: groupKeys, table: "groups.\(name)")
                }
            }
            if !listsGPUs, let other = groups.first(where: { $0.gpus.isEmpty }) {
                throw fail(entry.line, "groups \(other.name) and \(name) both take every GPU no group names (neither has gpus)",
                           fix: "give one of them a gpus list")
            }
            groups.append(group)
        }

        mutating func gpu(_ entry: TOMLDocument.Entry) throws {
            let gpu = try checkedName(entry.key, what: "GPU", line: entry.line)
            guard case .table(let table) = entry.node.value else {
                throw fail(entry.line, "'gpus.\"\(gpu)\"' is \(entry.node.value.kind), but must be a table ([gpus.\"\(gpu)\"])",
                           fix: "write the GPU's rules as a table: [gpus.\"0000:17:00.0\"] (group members go in [groups.NAME] gpus)")
            }
            var rule = GPURules()
            for setting in table.entries {
                switch (setting.key, setting.node.value) {
                case ("types", .array(let items)):
                    rule.enabledTypes = Set(try strings(items, of: setting, what: "type").map(\.value))
                case ("heterogeneous", .bool(let value)):
                    rule.heterogeneous = value
                case ("sriov_numvfs", .integer(let count)):
                    guard isPCIAddress(gpu) else {
                        throw fail(setting.line, "sriov_numvfs is set for '\(Validation.printable(gpu))', which is not a PCI address",
                                   fix: "set it in the table of the SR-IOV physical function: [gpus.\"0000:17:00.0\"]")
                    }
                    guard (1...maximumVFs).contains(count) else {
                        throw fail(setting.line, "sriov_numvfs = \(count) in [gpus.\"\(gpu)\"] is out of range",
                                   fix: "use 1 to \(maximumVFs) (at most the GPU's sriov_totalvfs); vgpud never disables VFs, so 0 has no use")
                    }
                    rule.sriovNumVFs = count
                default:
                    throw unknownOrMistyped(setting, allowed: gpuKeys, table: "gpus.\"\(gpu)\"")
                }
            }
            rules[gpu] = rule
        }

        mutating func daemon(_ table: TOMLDocument.Table) throws {
            for setting in table.entries {
                switch (setting.key, setting.node.value) {
                case ("reconcile_interval", .integer(let seconds)):
                    guard (10...86_400).contains(seconds) else {
                        throw fail(setting.line, "reconcile_interval = \(seconds) is out of range", fix: "use 10 to 86400 seconds")
                    }
                    daemon.reconcileInterval = seconds
                case ("prune", .bool(let value)):
                    daemon.prune = value
                default:
                    throw unknownOrMistyped(setting, allowed: daemonKeys, table: "vgpud")
                }
            }
        }

        mutating func hook(_ table: TOMLDocument.Table) throws {
            for setting in table.entries {
                switch (setting.key, setting.node.value) {
                case ("lock_wait", .integer(let seconds)):
                    guard (1...600).contains(seconds) else {
                        throw fail(setting.line, "lock_wait = \(seconds) is out of range",
                                   fix: "use 1 to 600 seconds (libvirtd waits for the hook that long)")
                    }
                    hookLockWait = seconds
                default:
                    throw unknownOrMistyped(setting, allowed: hookKeys, table: "hook")
                }
            }
        }

        mutating func layout(_ entry: TOMLDocument.Entry) throws {
            let name = try checkedName(entry.key, what: "layout name", line: entry.line)
            guard case .table(let table) = entry.node.value else {
                throw fail(entry.line, "'layouts.\(name)' is \(entry.node.value.kind), but must be a table",
                           fix: "declare the layout's entries: [[layouts.\(name).entries]]")
            }
            var entries: [DeclaredLayout.Entry] = []
            for setting in table.entries {
                guard setting.key == "entries", case .array(let items) = setting.node.value else {
                    throw unknownOrMistyped(setting, allowed: layoutKeys, table: "layouts.\(name)")
                }
                for item in items {
                    guard case .table(let fields) = item.value else {
                        throw fail(item.line, "an entry of layout \(name) is \(item.value.kind), but must be a table",
                                   fix: "write each entry as [[layouts.\(name).entries]] (or { gpus = \"all\", vgpus = { ... } })")
                    }
                    entries.append(try layoutEntry(fields, line: item.line, layout: name))
                }
            }
            guard !entries.isEmpty else {
                throw fail(entry.line, "layout \(name) has no entries",
                           fix: "add [[layouts.\(name).entries]] with gpus (or group) and vgpus")
            }
            layouts[name] = DeclaredLayout(name: name, entries: entries)
        }

        mutating func layoutEntry(_ fields: TOMLDocument.Table, line: Int, layout: String) throws -> DeclaredLayout.Entry {
            let table = "layouts.\(layout).entries"
            var selector: (DeclaredLayout.Selector, key: String)?
            var vgpus: [DeclaredLayout.TypeCount]?
            for field in fields.entries {
                switch (field.key, field.node.value) {
                case ("gpus", .string(let text)), ("group", .string(let text)):
                    if let earlier = selector {
                        throw fail(field.line, "an entry of layout \(layout) has both \(earlier.key) and \(field.key)",
                                   fix: "an entry names its GPUs one way: gpus = \"all\", gpus = [\"ADDRESS\", ...] or group = \"NAME\"")
                    }
                    if field.key == "group" {
                        let group = try checkedName(text, what: "group name", line: field.line)
                        groupReferences.append((group, field.line, layout))
                        selector = (.group(group), "group")
                    } else {
                        guard text == "all" else {
                            throw fail(field.line, "gpus = \"\(Validation.printable(text))\" in [[\(table)]]: the only string gpus takes is \"all\"",
                                       fix: "list GPUs in an array: gpus = [\"\(Validation.printable(text))\"], or use group = \"NAME\"")
                        }
                        selector = (.all, "gpus")
                    }
                case ("gpus", .array(let items)):
                    if let earlier = selector {
                        throw fail(field.line, "an entry of layout \(layout) has both \(earlier.key) and gpus",
                                   fix: "an entry names its GPUs one way: gpus = \"all\", gpus = [\"ADDRESS\", ...] or group = \"NAME\"")
                    }
                    let gpus = try strings(items, of: field, what: "GPU")
                    guard !gpus.isEmpty else {
                        throw fail(field.line, "gpus = [] in [[\(table)]] selects no GPU", fix: "list GPUs, or write gpus = \"all\"")
                    }
                    var seen: Set<String> = []
                    for (gpu, line) in gpus where !seen.insert(gpu).inserted {
                        throw fail(line, "GPU \(gpu) is listed twice in the same entry of layout \(layout)", fix: "list it once")
                    }
                    selector = (.gpus(gpus.map(\.value)), "gpus")
                case ("vgpus", .table(let counts)):
                    vgpus = try typeCounts(counts, line: field.line, table: table)
                case ("gpus", let value):
                    throw fail(field.line, "'gpus' is \(value.kind), but must be \"all\" or an array of strings",
                               fix: "write gpus = \"all\" or gpus = [\"0000:17:00.0\", ...]")
                default:
                    throw unknownOrMistyped(field, allowed: entryKeys, table: "[\(table)]")
                }
            }
            guard let selector else {
                throw fail(line, "an entry of layout \(layout) names no GPUs",
                           fix: "add gpus = \"all\", gpus = [\"0000:17:00.0\", ...] or group = \"NAME\"")
            }
            guard let vgpus else {
                throw fail(line, "an entry of layout \(layout) has no vgpus",
                           fix: "add vgpus = { \"TYPE\" = COUNT }, a type ID or name from 'vgpuctl types'")
            }
            return DeclaredLayout.Entry(gpus: selector.0, vgpus: vgpus, origin: "\(file):\(line)")
        }

        func typeCounts(_ table: TOMLDocument.Table, line: Int, table name: String) throws -> [DeclaredLayout.TypeCount] {
            guard !table.entries.isEmpty else {
                throw fail(line, "vgpus = {} in [[\(name)]] names no type",
                           fix: "name a type and its count: vgpus = { \"nvidia-1414\" = 4 }")
            }
            return try table.entries.map { count in
                let type = try checkedName(count.key, what: "type", line: count.line)
                guard case .integer(let instances) = count.node.value else {
                    throw fail(count.line, "the count of type \(type) is \(count.node.value.kind), but must be an integer",
                               fix: "write vgpus = { \"\(type)\" = 4 }: instances of the type on each selected GPU")
                }
                guard (1...maximumCount).contains(instances) else {
                    throw fail(count.line, "\(instances) instances of type \(type) is out of range",
                               fix: "use 1 to \(maximumCount); to have none of a type, leave it out")
                }
                return DeclaredLayout.TypeCount(type: type, count: instances)
            }
        }

        /// An array whose items must all be strings (names), each with its own line.
        func strings(_ items: [TOMLDocument.Node], of entry: TOMLDocument.Entry, what: String) throws -> [(value: String, line: Int)] {
            try items.map { item in
                guard case .string(let text) = item.value else {
                    throw fail(item.line, "'\(entry.key)' holds \(item.value.kind), but must be \(expected[entry.key] ?? "an array of strings")",
                               fix: "quote each item: \(entry.key) = [\"a\", \"b\"]")
                }
                return (try checkedName(text, what: what, line: item.line), item.line)
            }
        }

        func checkedName(_ value: String, what: String, line: Int) throws -> String {
            do {
                return try Validation.pathComponent(value, what: what, fix: "")
            } catch let error as VGPUError {
                throw fail(line, error.message, fix: "use a name without '/', '..' or control characters")
            }
        }

        func unknownOrMistyped(_ entry: TOMLDocument.Entry, allowed: [String], table: String) -> VGPUError {
            guard allowed.contains(entry.key) else {
                let shown = table.hasPrefix("[") ? table : "[\(table)]"
                return fail(entry.line, "unknown key '\(Validation.printable(entry.key))' in \(shown)",
                            fix: "the keys of this table are: \(allowed.joined(separator: ", "))")
            }
            return mistyped(entry, in: table)
        }

        func mistyped(_ entry: TOMLDocument.Entry, in table: String) -> VGPUError {
            fail(entry.line, "'\(entry.key)' is \(entry.node.value.kind), but must be \(expected[entry.key] ?? "another kind of value")",
                 fix: "see the example config in README.md")
        }
    }
}
