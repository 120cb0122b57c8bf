/// The device states of the kernel's VFIO migration uAPI v2 (`enum vfio_device_mig_state` in
/// include/uapi/linux/vfio.h), with their numeric values: the ioctls carry these numbers.
public enum VFIOMigrationState: UInt32, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case error = 0
    case stop = 1
    case running = 2
    case stopCopy = 3
    case resuming = 4
    case runningP2P = 5
    case preCopy = 6
    case preCopyP2P = 7

    /// The uAPI's name without the `VFIO_DEVICE_STATE_` prefix, as logs and `--json` show it.
    public var description: String {
        switch self {
        case .error: return "ERROR"
        case .stop: return "STOP"
        case .running: return "RUNNING"
        case .stopCopy: return "STOP_COPY"
        case .resuming: return "RESUMING"
        case .runningP2P: return "RUNNING_P2P"
        case .preCopy: return "PRE_COPY"
        case .preCopyP2P: return "PRE_COPY_P2P"
        }
    }

    public init?(name: String) {
        guard let state = Self.allCases.first(where: { $0.description == name.uppercased() }) else { return nil }
        self = state
    }

    /// The device flags a state needs (the kernel's `state_flags_table`); nil for ERROR, which no device
    /// may be asked to enter.
    public var requiredFlags: VFIOMigrationFlags? {
        switch self {
        case .error: return nil
        case .stop, .running, .stopCopy, .resuming: return .stopCopy
        case .runningP2P: return [.stopCopy, .p2p]
        case .preCopy: return [.stopCopy, .preCopy]
        case .preCopyP2P: return [.stopCopy, .p2p, .preCopy]
        }
    }

    /// Whether a device with `flags` has this state at all.
    public func isSupported(by flags: VFIOMigrationFlags) -> Bool {
        guard let required = requiredFlags else { return false }
        return flags.isSuperset(of: required)
    }
}

/// `struct vfio_device_feature_migration.flags`: which optional parts of the protocol a device implements.
public struct VFIOMigrationFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let stopCopy = VFIOMigrationFlags(rawValue: 1 << 0)  // VFIO_MIGRATION_STOP_COPY
    public static let p2p = VFIOMigrationFlags(rawValue: 1 << 1)       // VFIO_MIGRATION_P2P
    public static let preCopy = VFIOMigrationFlags(rawValue: 1 << 2)   // VFIO_MIGRATION_PRE_COPY

    /// The flag names, in bit order ("STOP_COPY|P2P|PRE_COPY"); unknown bits as hex so nothing is hidden.
    public var names: [String] {
        var names: [String] = []
        if contains(.stopCopy) { names.append("STOP_COPY") }
        if contains(.p2p) { names.append("P2P") }
        if contains(.preCopy) { names.append("PRE_COPY") }
        let unknown = rawValue & ~0b111
        if unknown != 0 { names.append("0x" + String(unknown, radix: 16)) }
        return names
    }

    public var description: String { names.isEmpty ? "none" : names.joined(separator: "|") }
}

/// One step the driver performs: the kernel breaks every requested transition into these.
public struct VFIOMigrationArc: Hashable, Sendable, CustomStringConvertible {
    public let from: VFIOMigrationState
    public let to: VFIOMigrationState
    public init(_ from: VFIOMigrationState, _ to: VFIOMigrationState) {
        self.from = from
        self.to = to
    }
    public var description: String { "\(from) -> \(to)" }
}

/// The kernel's migration state machine, as `vfio_mig_get_next_state()` in drivers/vfio/vfio_main.c (6.12)
/// computes it. A `VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE` SET to any reachable state is one ioctl; the driver
/// walks the path below. Knowing the path tells us in advance which arcs run (and which one returns the
/// data_fd) and lets us refuse an impossible request with a clear message instead of a bare EINVAL.
public enum VFIOMigrationFSM {
    /// The kernel's `vfio_from_fsm_table[from][to]`: the next state on the way, for a device with every
    /// optional feature. Facts read from the 6.12 source, row by row.
    public static func tableStep(from: VFIOMigrationState, to: VFIOMigrationState) -> VFIOMigrationState {
        switch from {
        case .stop:
            switch to {
            case .running, .preCopy, .preCopyP2P, .runningP2P: return .runningP2P
            case .stop, .stopCopy, .resuming, .error: return to
            }
        case .running:
            switch to {
            case .running, .preCopy, .error: return to
            case .stop, .preCopyP2P, .stopCopy, .resuming, .runningP2P: return .runningP2P
            }
        case .preCopy:
            switch to {
            case .stop, .running, .resuming, .runningP2P: return .running
            case .preCopy, .preCopyP2P, .error: return to
            case .stopCopy: return .preCopyP2P
            }
        case .preCopyP2P:
            switch to {
            case .stop, .running, .resuming, .runningP2P: return .runningP2P
            case .preCopy, .preCopyP2P, .stopCopy, .error: return to
            }
        case .stopCopy:
            switch to {
            case .stop, .running, .resuming, .runningP2P: return .stop
            case .stopCopy: return .stopCopy
            // STOP_COPY may not go back to pre-copy: the device has already been asked for its final state.
            case .preCopy, .preCopyP2P, .error: return .error
            }
        case .resuming:
            switch to {
            case .resuming, .error: return to
            default: return .stop
            }
        case .runningP2P:
            switch to {
            case .stop, .stopCopy, .resuming: return .stop
            case .running, .preCopy: return .running
            case .preCopyP2P, .runningP2P, .error: return to
            }
        case .error:
            return .error
        }
    }

    /// The next state the driver enters on its way from `from` to `to`, or nil where the kernel answers
    /// -EINVAL (a state the device lacks, ERROR, or a blocked transition such as STOP_COPY -> PRE_COPY).
    /// Table entries that name a state the device lacks are skipped over, as the kernel does.
    public static func nextStep(from: VFIOMigrationState, to: VFIOMigrationState, flags: VFIOMigrationFlags) -> VFIOMigrationState? {
        guard from.isSupported(by: flags), to.isSupported(by: flags) else { return nil }
        var next = tableStep(from: from, to: to)
        while next != .error && !next.isSupported(by: flags) { next = tableStep(from: next, to: to) }
        return next == .error ? nil : next
    }

    /// Every state the device passes through after `from` until it is in `to` (empty when already there), or
    /// nil when the kernel refuses the transition.
    public static func path(from: VFIOMigrationState, to: VFIOMigrationState, flags: VFIOMigrationFlags) -> [VFIOMigrationState]? {
        guard from.isSupported(by: flags), to.isSupported(by: flags) else { return nil }
        var path: [VFIOMigrationState] = []
        var current = from
        // Every path in the table is at most four steps; the bound only guards against a table typo looping.
        while current != to && path.count <= VFIOMigrationState.allCases.count {
            guard let next = nextStep(from: current, to: to, flags: flags) else { return nil }
            path.append(next)
            current = next
        }
        return current == to ? path : nil
    }

    /// The arcs a driver with `flags` must implement (the list in the comment above the kernel's table):
    /// exactly the single steps that `path` can produce for that device.
    public static func arcs(flags: VFIOMigrationFlags) -> Set<VFIOMigrationArc> {
        guard flags.contains(.stopCopy) else { return [] }
        var arcs: Set<VFIOMigrationArc> = [.init(.resuming, .stop), .init(.stop, .resuming), .init(.stop, .stopCopy), .init(.stopCopy, .stop)]
        if flags.contains(.p2p) {
            arcs.formUnion([.init(.running, .runningP2P), .init(.runningP2P, .running), .init(.runningP2P, .stop), .init(.stop, .runningP2P)])
        } else {
            arcs.formUnion([.init(.running, .stop), .init(.stop, .running)])
        }
        if flags.contains(.preCopy) && flags.contains(.p2p) {
            arcs.formUnion([.init(.preCopy, .running), .init(.preCopy, .preCopyP2P), .init(.preCopyP2P, .preCopy),
                            .init(.preCopyP2P, .runningP2P), .init(.preCopyP2P, .stopCopy), .init(.running, .preCopy),
                            .init(.runningP2P, .preCopyP2P)])
        } else if flags.contains(.preCopy) {
            arcs.formUnion([.init(.running, .preCopy), .init(.preCopy, .running), .init(.preCopy, .stopCopy)])
        }
        return arcs
    }

    /// The arcs after which the driver hands out a migration data fd: saving starts in PRE_COPY(_P2P) or, for
    /// a device without pre-copy, STOP_COPY; loading starts in RESUMING. PRE_COPY_P2P -> STOP_COPY keeps the
    /// pre-copy fd (the stream continues; the ioctl returns data_fd -1).
    public static func opensDataStream(_ arc: VFIOMigrationArc) -> Bool {
        switch (arc.from, arc.to) {
        case (.running, .preCopy), (.runningP2P, .preCopyP2P), (.stop, .stopCopy), (.stop, .resuming): return true
        default: return false
        }
    }
}
