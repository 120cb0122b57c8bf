/// The host config file (`/etc/vgpuctl/vgpuctl.conf`, TOML): GPU groups, their policies, and per-GPU rules.
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
/// Parsing is pure; every mistake is refused with the file, the line and the fix.
public enum HostConfig {
    static let groupKeys = ["policy", "gpus"]
    static let gpuKeys = ["types", "heterogeneous", "sriov_numvfs"]
    static let daemonKeys = ["reconcile_interval", "prune"]
    static let hookKeys = ["lock_wait"]
    /// PCI allows at most 65535 VFs per PF (TotalVFs is 16 bits).
    static let maximumVFs = 65535

    public static func parse(_ text: String, file: String) throws -> PlacementConfig {
        let document = try TOMLSubset(parsing: text, file: file)
        var groups: [GPUGroup] = []
        var rules: [String: GPURules] = [:]
        var groupOfGPU: [String: (group: String, line: Int)] = [:]
        var daemon = DaemonSettings()
        var hookLockWait: Int?
        for table in document.tables {
            func fail(_ line: Int, _ message: String, fix: String) -> VGPUError {
                VGPUError(.invalidInput, "\(file):\(line): \(message)", fix: fix)
            }
            switch table.path.first {
            case nil:
                if let entry = table.entries.first {
                    throw fail(entry.line, "'\(entry.key)' is outside any table",
                               fix: "put settings under [groups.NAME] or [gpus.\"ADDRESS\"]")
                }
            case "groups":
                guard table.path.count == 2 else {
                    throw fail(table.line, "a group table is [groups.NAME], not [\(table.path.joined(separator: "."))]",
                               fix: "name the group: [groups.training]")
                }
                let name = try checkedName(table.path[1], what: "group name", file: file, line: table.line)
                var group = GPUGroup(name: name, policy: PlacementConfig.defaultPolicy, gpus: [])
                var listsGPUs = false
                for entry in table.entries {
                    switch (entry.key, entry.value) {
                    case ("policy", .string(let text)):
                        guard let policy = PlacementPolicy(rawValue: text) else {
                            throw fail(entry.line, "unknown policy '\(Validation.printable(text))' in [groups.\(name)]",
                                       fix: "use \"pack\" (fill one GPU first) or \"spread\" (one per GPU in turn)")
                        }
                        group.policy = policy
                    case ("gpus", .strings(let gpus)):
                        listsGPUs = true
                        guard !gpus.isEmpty else {
                            throw fail(entry.line, "group \(name) lists no GPUs",
                                       fix: "list its GPUs, or drop the gpus key to make it the group of every other GPU")
                        }
                        for gpu in gpus {
                            _ = try checkedName(gpu, what: "GPU", file: file, line: entry.line)
                            if let earlier = groupOfGPU[gpu] {
                                throw fail(entry.line, "GPU \(gpu) is in group \(earlier.group) (line \(earlier.line)) and in group \(name)",
                                           fix: "a GPU belongs to one group: remove it from one of them")
                            }
                            groupOfGPU[gpu] = (name, entry.line)
                        }
                        group.gpus = gpus
                    default:
                        throw unknownOrMistyped(entry, allowed: groupKeys, table: "groups.\(name)", file: file)
                    }
                }
                if !listsGPUs, let other = groups.first(where: { $0.gpus.isEmpty }) {
                    throw fail(table.line, "groups \(other.name) and \(name) both take every GPU no group names (neither has gpus)",
                               fix: "give one of them a gpus list")
                }
                groups.append(group)
            case "gpus":
                guard table.path.count == 2 else {
                    throw fail(table.line, "a GPU table is [gpus.\"ADDRESS\"], not [\(table.path.joined(separator: "."))]",
                               fix: "quote the address: [gpus.\"0000:17:00.0\"]")
                }
                let gpu = try checkedName(table.path[1], what: "GPU", file: file, line: table.line)
                var rule = GPURules()
                for entry in table.entries {
                    switch (entry.key, entry.value) {
                    case ("types", .strings(let types)):
                        for type in types { _ = try checkedName(type, what: "type", file: file, line: entry.line) }
                        rule.enabledTypes = Set(types)
                    case ("heterogeneous", .bool(let value)):
                        rule.heterogeneous = value
                    case ("sriov_numvfs", .integer(let count)):
                        guard isPCIAddress(gpu) else {
                            throw fail(entry.line, "sriov_numvfs is set for '\(Validation.printable(gpu))', which is not a PCI address",
                                       fix: "set it in the table of the SR-IOV physical function: [gpus.\"0000:17:00.0\"]")
                        }
                        guard (1...maximumVFs).contains(count) else {
                            throw fail(entry.line, "sriov_numvfs = \(count) in [gpus.\"\(gpu)\"] is out of range",
                                       fix: "use 1 to \(maximumVFs) (at most the GPU's sriov_totalvfs); vgpud never disables VFs, so 0 has no use")
                        }
                        rule.sriovNumVFs = count
                    default:
                        throw unknownOrMistyped(entry, allowed: gpuKeys, table: "gpus.\"\(gpu)\"", file: file)
                    }
                }
                rules[gpu] = rule
            case "vgpud":
                guard table.path.count == 1 else {
                    throw fail(table.line, "the daemon's table is [vgpud], not [\(table.path.joined(separator: "."))]", fix: "write [vgpud]")
                }
                for entry in table.entries {
                    switch (entry.key, entry.value) {
                    case ("reconcile_interval", .integer(let seconds)):
                        guard (10...86_400).contains(seconds) else {
                            throw fail(entry.line, "reconcile_interval = \(seconds) is out of range", fix: "use 10 to 86400 seconds")
                        }
                        daemon.reconcileInterval = seconds
                    case ("prune", .bool(let value)):
                        daemon.prune = value
                    default:
                        throw unknownOrMistyped(entry, allowed: daemonKeys, table: "vgpud", file: file)
                    }
                }
            case "hook":
                guard table.path.count == 1 else {
                    throw fail(table.line, "the hook's table is [hook], not [\(table.path.joined(separator: "."))]", fix: "write [hook]")
                }
                for entry in table.entries {
                    switch (entry.key, entry.value) {
                    case ("lock_wait", .integer(let seconds)):
                        guard (1...600).contains(seconds) else {
                            throw fail(entry.line, "lock_wait = \(seconds) is out of range",
                                       fix: "use 1 to 600 seconds (libvirtd waits for the hook that long)")
                        }
                        hookLockWait = seconds
                    default:
                        throw unknownOrMistyped(entry, allowed: hookKeys, table: "hook", file: file)
                    }
                }
            case let other?:
                throw fail(table.line, "unknown table [\(other)]", fix: "the tables are [groups.NAME], [gpus.\"ADDRESS\"], [vgpud] and [hook]")
            }
        }
        if !groups.contains(where: { $0.gpus.isEmpty }) {
            groups.append(GPUGroup(name: PlacementConfig.defaultGroupName, policy: PlacementConfig.defaultPolicy, gpus: []))
        }
        return PlacementConfig(groups: groups, rules: rules, daemon: daemon, hookLockWait: hookLockWait)
    }

    /// `DDDD:BB:DD.F`, as sysfs names PCI functions.
    static func isPCIAddress(_ text: String) -> Bool { ParentEvent.isPCIAddress(text) }

    private static func checkedName(_ value: String, what: String, file: String, line: Int) throws -> String {
        do {
            return try Validation.pathComponent(value, what: what, fix: "")
        } catch let error as VGPUError {
            throw VGPUError(.invalidInput, "\(file):\(line): \(error.message)", fix: "use a name without '/', '..' or control characters")
        }
    }

    private static func unknownOrMistyped(_ entry: TOMLSubset.Entry, allowed: [String], table: String, file: String) -> VGPUError {
        guard allowed.contains(entry.key) else {
            return VGPUError(.invalidInput, "\(file):\(entry.line): unknown key '\(Validation.printable(entry.key))' in [\(table)]",
                             fix: "the keys of this table are: \(allowed.joined(separator: ", "))")
        }
        let expected = ["policy": "a string (\"pack\" or \"spread\")", "gpus": "an array of strings",
                        "types": "an array of strings", "heterogeneous": "true or false",
                        "sriov_numvfs": "an integer", "reconcile_interval": "an integer (seconds)", "lock_wait": "an integer (seconds)",
                        "prune": "true or false"][entry.key] ?? "another kind of value"
        return VGPUError(.invalidInput, "\(file):\(entry.line): '\(entry.key)' is \(entry.value.kind), but must be \(expected)",
                         fix: "see the example config in README.md")
    }
}
