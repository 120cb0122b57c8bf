import Testing
@testable import VGPUCore

/// The path for every (flags, from, to) a device can be asked for, against facts taken from Linux 6.12:
/// `vfio_from_fsm_table` and `state_flags_table` in drivers/vfio/vfio_main.c, walked as
/// `vfio_mig_get_next_state()` walks them (entries naming a state the device lacks are skipped over).
/// The table below was produced from that source file by a separate script, not by the code under test.
@Suite struct VFIOMigrationStateTests {
    static let kernelPaths: [String] = [
        "STOP_COPY: STOP -> STOP = (none)",
        "STOP_COPY: STOP -> RUNNING = RUNNING",
        "STOP_COPY: STOP -> STOP_COPY = STOP_COPY",
        "STOP_COPY: STOP -> RESUMING = RESUMING",
        "STOP_COPY: RUNNING -> STOP = STOP",
        "STOP_COPY: RUNNING -> RUNNING = (none)",
        "STOP_COPY: RUNNING -> STOP_COPY = STOP STOP_COPY",
        "STOP_COPY: RUNNING -> RESUMING = STOP RESUMING",
        "STOP_COPY: STOP_COPY -> STOP = STOP",
        "STOP_COPY: STOP_COPY -> RUNNING = STOP RUNNING",
        "STOP_COPY: STOP_COPY -> STOP_COPY = (none)",
        "STOP_COPY: STOP_COPY -> RESUMING = STOP RESUMING",
        "STOP_COPY: RESUMING -> STOP = STOP",
        "STOP_COPY: RESUMING -> RUNNING = STOP RUNNING",
        "STOP_COPY: RESUMING -> STOP_COPY = STOP STOP_COPY",
        "STOP_COPY: RESUMING -> RESUMING = (none)",
        "STOP_COPY|P2P: STOP -> STOP = (none)",
        "STOP_COPY|P2P: STOP -> RUNNING = RUNNING_P2P RUNNING",
        "STOP_COPY|P2P: STOP -> STOP_COPY = STOP_COPY",
        "STOP_COPY|P2P: STOP -> RESUMING = RESUMING",
        "STOP_COPY|P2P: STOP -> RUNNING_P2P = RUNNING_P2P",
        "STOP_COPY|P2P: RUNNING -> STOP = RUNNING_P2P STOP",
        "STOP_COPY|P2P: RUNNING -> RUNNING = (none)",
        "STOP_COPY|P2P: RUNNING -> STOP_COPY = RUNNING_P2P STOP STOP_COPY",
        "STOP_COPY|P2P: RUNNING -> RESUMING = RUNNING_P2P STOP RESUMING",
        "STOP_COPY|P2P: RUNNING -> RUNNING_P2P = RUNNING_P2P",
        "STOP_COPY|P2P: STOP_COPY -> STOP = STOP",
        "STOP_COPY|P2P: STOP_COPY -> RUNNING = STOP RUNNING_P2P RUNNING",
        "STOP_COPY|P2P: STOP_COPY -> STOP_COPY = (none)",
        "STOP_COPY|P2P: STOP_COPY -> RESUMING = STOP RESUMING",
        "STOP_COPY|P2P: STOP_COPY -> RUNNING_P2P = STOP RUNNING_P2P",
        "STOP_COPY|P2P: RESUMING -> STOP = STOP",
        "STOP_COPY|P2P: RESUMING -> RUNNING = STOP RUNNING_P2P RUNNING",
        "STOP_COPY|P2P: RESUMING -> STOP_COPY = STOP STOP_COPY",
        "STOP_COPY|P2P: RESUMING -> RESUMING = (none)",
        "STOP_COPY|P2P: RESUMING -> RUNNING_P2P = STOP RUNNING_P2P",
        "STOP_COPY|P2P: RUNNING_P2P -> STOP = STOP",
        "STOP_COPY|P2P: RUNNING_P2P -> RUNNING = RUNNING",
        "STOP_COPY|P2P: RUNNING_P2P -> STOP_COPY = STOP STOP_COPY",
        "STOP_COPY|P2P: RUNNING_P2P -> RESUMING = STOP RESUMING",
        "STOP_COPY|P2P: RUNNING_P2P -> RUNNING_P2P = (none)",
        "STOP_COPY|PRE_COPY: STOP -> STOP = (none)",
        "STOP_COPY|PRE_COPY: STOP -> RUNNING = RUNNING",
        "STOP_COPY|PRE_COPY: STOP -> STOP_COPY = STOP_COPY",
        "STOP_COPY|PRE_COPY: STOP -> RESUMING = RESUMING",
        "STOP_COPY|PRE_COPY: STOP -> PRE_COPY = RUNNING PRE_COPY",
        "STOP_COPY|PRE_COPY: RUNNING -> STOP = STOP",
        "STOP_COPY|PRE_COPY: RUNNING -> RUNNING = (none)",
        "STOP_COPY|PRE_COPY: RUNNING -> STOP_COPY = STOP STOP_COPY",
        "STOP_COPY|PRE_COPY: RUNNING -> RESUMING = STOP RESUMING",
        "STOP_COPY|PRE_COPY: RUNNING -> PRE_COPY = PRE_COPY",
        "STOP_COPY|PRE_COPY: STOP_COPY -> STOP = STOP",
        "STOP_COPY|PRE_COPY: STOP_COPY -> RUNNING = STOP RUNNING",
        "STOP_COPY|PRE_COPY: STOP_COPY -> STOP_COPY = (none)",
        "STOP_COPY|PRE_COPY: STOP_COPY -> RESUMING = STOP RESUMING",
        "STOP_COPY|PRE_COPY: STOP_COPY -> PRE_COPY = refused",
        "STOP_COPY|PRE_COPY: RESUMING -> STOP = STOP",
        "STOP_COPY|PRE_COPY: RESUMING -> RUNNING = STOP RUNNING",
        "STOP_COPY|PRE_COPY: RESUMING -> STOP_COPY = STOP STOP_COPY",
        "STOP_COPY|PRE_COPY: RESUMING -> RESUMING = (none)",
        "STOP_COPY|PRE_COPY: RESUMING -> PRE_COPY = STOP RUNNING PRE_COPY",
        "STOP_COPY|PRE_COPY: PRE_COPY -> STOP = RUNNING STOP",
        "STOP_COPY|PRE_COPY: PRE_COPY -> RUNNING = RUNNING",
        "STOP_COPY|PRE_COPY: PRE_COPY -> STOP_COPY = STOP_COPY",
        "STOP_COPY|PRE_COPY: PRE_COPY -> RESUMING = RUNNING STOP RESUMING",
        "STOP_COPY|PRE_COPY: PRE_COPY -> PRE_COPY = (none)",
        "STOP_COPY|P2P|PRE_COPY: STOP -> STOP = (none)",
        "STOP_COPY|P2P|PRE_COPY: STOP -> RUNNING = RUNNING_P2P RUNNING",
        "STOP_COPY|P2P|PRE_COPY: STOP -> STOP_COPY = STOP_COPY",
        "STOP_COPY|P2P|PRE_COPY: STOP -> RESUMING = RESUMING",
        "STOP_COPY|P2P|PRE_COPY: STOP -> RUNNING_P2P = RUNNING_P2P",
        "STOP_COPY|P2P|PRE_COPY: STOP -> PRE_COPY = RUNNING_P2P RUNNING PRE_COPY",
        "STOP_COPY|P2P|PRE_COPY: STOP -> PRE_COPY_P2P = RUNNING_P2P PRE_COPY_P2P",
        "STOP_COPY|P2P|PRE_COPY: RUNNING -> STOP = RUNNING_P2P STOP",
        "STOP_COPY|P2P|PRE_COPY: RUNNING -> RUNNING = (none)",
        "STOP_COPY|P2P|PRE_COPY: RUNNING -> STOP_COPY = RUNNING_P2P STOP STOP_COPY",
        "STOP_COPY|P2P|PRE_COPY: RUNNING -> RESUMING = RUNNING_P2P STOP RESUMING",
        "STOP_COPY|P2P|PRE_COPY: RUNNING -> RUNNING_P2P = RUNNING_P2P",
        "STOP_COPY|P2P|PRE_COPY: RUNNING -> PRE_COPY = PRE_COPY",
        "STOP_COPY|P2P|PRE_COPY: RUNNING -> PRE_COPY_P2P = RUNNING_P2P PRE_COPY_P2P",
        "STOP_COPY|P2P|PRE_COPY: STOP_COPY -> STOP = STOP",
        "STOP_COPY|P2P|PRE_COPY: STOP_COPY -> RUNNING = STOP RUNNING_P2P RUNNING",
        "STOP_COPY|P2P|PRE_COPY: STOP_COPY -> STOP_COPY = (none)",
        "STOP_COPY|P2P|PRE_COPY: STOP_COPY -> RESUMING = STOP RESUMING",
        "STOP_COPY|P2P|PRE_COPY: STOP_COPY -> RUNNING_P2P = STOP RUNNING_P2P",
        "STOP_COPY|P2P|PRE_COPY: STOP_COPY -> PRE_COPY = refused",
        "STOP_COPY|P2P|PRE_COPY: STOP_COPY -> PRE_COPY_P2P = refused",
        "STOP_COPY|P2P|PRE_COPY: RESUMING -> STOP = STOP",
        "STOP_COPY|P2P|PRE_COPY: RESUMING -> RUNNING = STOP RUNNING_P2P RUNNING",
        "STOP_COPY|P2P|PRE_COPY: RESUMING -> STOP_COPY = STOP STOP_COPY",
        "STOP_COPY|P2P|PRE_COPY: RESUMING -> RESUMING = (none)",
        "STOP_COPY|P2P|PRE_COPY: RESUMING -> RUNNING_P2P = STOP RUNNING_P2P",
        "STOP_COPY|P2P|PRE_COPY: RESUMING -> PRE_COPY = STOP RUNNING_P2P RUNNING PRE_COPY",
        "STOP_COPY|P2P|PRE_COPY: RESUMING -> PRE_COPY_P2P = STOP RUNNING_P2P PRE_COPY_P2P",
        "STOP_COPY|P2P|PRE_COPY: RUNNING_P2P -> STOP = STOP",
        "STOP_COPY|P2P|PRE_COPY: RUNNING_P2P -> RUNNING = RUNNING",
        "STOP_COPY|P2P|PRE_COPY: RUNNING_P2P -> STOP_COPY = STOP STOP_COPY",
        "STOP_COPY|P2P|PRE_COPY: RUNNING_P2P -> RESUMING = STOP RESUMING",
        "STOP_COPY|P2P|PRE_COPY: RUNNING_P2P -> RUNNING_P2P = (none)",
        "STOP_COPY|P2P|PRE_COPY: RUNNING_P2P -> PRE_COPY = RUNNING PRE_COPY",
        "STOP_COPY|P2P|PRE_COPY: RUNNING_P2P -> PRE_COPY_P2P = PRE_COPY_P2P",
        "STOP_COPY|P2P|PRE_COPY: PRE_COPY -> STOP = RUNNING RUNNING_P2P STOP",
        "STOP_COPY|P2P|PRE_COPY: PRE_COPY -> RUNNING = RUNNING",
        "STOP_COPY|P2P|PRE_COPY: PRE_COPY -> STOP_COPY = PRE_COPY_P2P STOP_COPY",
        "STOP_COPY|P2P|PRE_COPY: PRE_COPY -> RESUMING = RUNNING RUNNING_P2P STOP RESUMING",
        "STOP_COPY|P2P|PRE_COPY: PRE_COPY -> RUNNING_P2P = RUNNING RUNNING_P2P",
        "STOP_COPY|P2P|PRE_COPY: PRE_COPY -> PRE_COPY = (none)",
        "STOP_COPY|P2P|PRE_COPY: PRE_COPY -> PRE_COPY_P2P = PRE_COPY_P2P",
        "STOP_COPY|P2P|PRE_COPY: PRE_COPY_P2P -> STOP = RUNNING_P2P STOP",
        "STOP_COPY|P2P|PRE_COPY: PRE_COPY_P2P -> RUNNING = RUNNING_P2P RUNNING",
        "STOP_COPY|P2P|PRE_COPY: PRE_COPY_P2P -> STOP_COPY = STOP_COPY",
        "STOP_COPY|P2P|PRE_COPY: PRE_COPY_P2P -> RESUMING = RUNNING_P2P STOP RESUMING",
        "STOP_COPY|P2P|PRE_COPY: PRE_COPY_P2P -> RUNNING_P2P = RUNNING_P2P",
        "STOP_COPY|P2P|PRE_COPY: PRE_COPY_P2P -> PRE_COPY = PRE_COPY",
        "STOP_COPY|P2P|PRE_COPY: PRE_COPY_P2P -> PRE_COPY_P2P = (none)",
    ]

    /// The combination transitions the kernel's comment lists for a device with every optional feature.
    static let kernelCommentCombinations: [String] = [
        "PRE_COPY -> PRE_COPY_P2P -> STOP_COPY",
        "PRE_COPY -> RUNNING -> RUNNING_P2P",
        "PRE_COPY -> RUNNING -> RUNNING_P2P -> STOP",
        "PRE_COPY -> RUNNING -> RUNNING_P2P -> STOP -> RESUMING",
        "PRE_COPY_P2P -> RUNNING_P2P -> RUNNING",
        "PRE_COPY_P2P -> RUNNING_P2P -> STOP",
        "PRE_COPY_P2P -> RUNNING_P2P -> STOP -> RESUMING",
        "RESUMING -> STOP -> RUNNING_P2P",
        "RESUMING -> STOP -> RUNNING_P2P -> PRE_COPY_P2P",
        "RESUMING -> STOP -> RUNNING_P2P -> RUNNING",
        "RESUMING -> STOP -> RUNNING_P2P -> RUNNING -> PRE_COPY",
        "RESUMING -> STOP -> STOP_COPY",
        "RUNNING -> RUNNING_P2P -> PRE_COPY_P2P",
        "RUNNING -> RUNNING_P2P -> STOP",
        "RUNNING -> RUNNING_P2P -> STOP -> RESUMING",
        "RUNNING -> RUNNING_P2P -> STOP -> STOP_COPY",
        "RUNNING_P2P -> RUNNING -> PRE_COPY",
        "RUNNING_P2P -> STOP -> RESUMING",
        "RUNNING_P2P -> STOP -> STOP_COPY",
        "STOP -> RUNNING_P2P -> PRE_COPY_P2P",
        "STOP -> RUNNING_P2P -> RUNNING",
        "STOP -> RUNNING_P2P -> RUNNING -> PRE_COPY",
        "STOP_COPY -> STOP -> RESUMING",
        "STOP_COPY -> STOP -> RUNNING_P2P",
        "STOP_COPY -> STOP -> RUNNING_P2P -> RUNNING",
    ]

    static func flags(_ text: Substring) -> VFIOMigrationFlags {
        text.split(separator: "|").reduce(into: VFIOMigrationFlags()) { flags, name in
            switch name {
            case "STOP_COPY": flags.insert(.stopCopy)
            case "P2P": flags.insert(.p2p)
            case "PRE_COPY": flags.insert(.preCopy)
            default: Issue.record("unknown flag \(name)")
            }
        }
    }

    static func state(_ text: Substring) -> VFIOMigrationState {
        guard let state = VFIOMigrationState(name: String(text)) else { fatalError("unknown state \(text)") }
        return state
    }

    @Test func uAPINumbers() {
        let numbers: [VFIOMigrationState: UInt32] = [.error: 0, .stop: 1, .running: 2, .stopCopy: 3, .resuming: 4,
                                                     .runningP2P: 5, .preCopy: 6, .preCopyP2P: 7]
        for (state, number) in numbers { #expect(state.rawValue == number, "\(state)") }
        #expect(VFIOMigrationFlags.stopCopy.rawValue == 1 && VFIOMigrationFlags.p2p.rawValue == 2 && VFIOMigrationFlags.preCopy.rawValue == 4)
        #expect(VFIOMigrationFlags(rawValue: 7).description == "STOP_COPY|P2P|PRE_COPY")
        #expect(VFIOMigrationFlags(rawValue: 0x11).description == "STOP_COPY|0x10")
    }

    @Test(arguments: kernelPaths) func pathMatchesTheKernel(_ line: String) {
        // "FLAGS: FROM -> TO = STATE STATE ..." | "= (none)" | "= refused"
        let parts = line.split(separator: "=")
        let (head, expected) = (parts[0], String(parts[1].drop { $0 == " " }))
        let flags = Self.flags(head.split(separator: ":")[0])
        let ends = head.split(separator: ":")[1].split(separator: " ").filter { $0 != "->" }
        let path = VFIOMigrationFSM.path(from: Self.state(ends[0]), to: Self.state(ends[1]), flags: flags)
        let actual = path.map { $0.isEmpty ? "(none)" : $0.map { $0.description }.joined(separator: " ") } ?? "refused"
        #expect(actual == expected, "\(line)")
    }

    /// The states include/uapi/linux/vfio.h gives a device for its migration flags: STOP, RUNNING, STOP_COPY and
    /// RESUMING always; RUNNING_P2P with VFIO_MIGRATION_P2P; PRE_COPY with VFIO_MIGRATION_PRE_COPY; PRE_COPY_P2P
    /// with both.
    static func kernelStates(_ flags: VFIOMigrationFlags) -> Set<VFIOMigrationState> {
        var states: Set<VFIOMigrationState> = [.stop, .running, .stopCopy, .resuming]
        if flags.contains(.p2p) { states.insert(.runningP2P) }
        if flags.contains(.preCopy) { states.insert(.preCopy) }
        if flags.contains(.p2p) && flags.contains(.preCopy) { states.insert(.preCopyP2P) }
        return states
    }

    /// The FSM arcs vfio.h says a driver implements, for its flags: the path between any two states must be made
    /// of these. With P2P, RUNNING and STOP are joined through RUNNING_P2P, and PRE_COPY reaches STOP_COPY through
    /// PRE_COPY_P2P; without it, directly.
    static func kernelArcs(_ flags: VFIOMigrationFlags) -> Set<String> {
        var arcs: Set<String> = ["STOP STOP_COPY", "STOP_COPY STOP", "STOP RESUMING", "RESUMING STOP"]
        if flags.contains(.p2p) {
            arcs.formUnion(["RUNNING RUNNING_P2P", "RUNNING_P2P RUNNING", "RUNNING_P2P STOP", "STOP RUNNING_P2P"])
        } else {
            arcs.formUnion(["RUNNING STOP", "STOP RUNNING"])
        }
        if flags.contains(.preCopy) {
            arcs.formUnion(["RUNNING PRE_COPY", "PRE_COPY RUNNING"])
            if flags.contains(.p2p) {
                arcs.formUnion(["PRE_COPY PRE_COPY_P2P", "PRE_COPY_P2P PRE_COPY", "RUNNING_P2P PRE_COPY_P2P", "PRE_COPY_P2P RUNNING_P2P",
                                "PRE_COPY_P2P STOP_COPY"])
            } else {
                arcs.insert("PRE_COPY STOP_COPY")
            }
        }
        return arcs
    }

    static let flagSets: [(String, VFIOMigrationFlags)] = [
        ("STOP_COPY", [.stopCopy]), ("STOP_COPY|P2P", [.stopCopy, .p2p]), ("STOP_COPY|PRE_COPY", [.stopCopy, .preCopy]),
        ("STOP_COPY|P2P|PRE_COPY", [.stopCopy, .p2p, .preCopy]),
    ]

    /// The table names every ordered pair of the states each flag set has (and nothing else), so no pair the
    /// kernel accepts goes untested.
    @Test func theTableCoversEveryPairOfTheKernelsStates() {
        for (name, flags) in Self.flagSets {
            let states = Self.kernelStates(flags)
            let expected = Set(states.flatMap { from in states.map { "\(from.description) -> \($0.description)" } })
            let listed = Self.kernelPaths.filter { $0.hasPrefix(name + ":") }
                .map { String($0.split(separator: "=")[0].dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces)) }
            #expect(listed.count == Set(listed).count, "\(name): a pair is listed twice")
            #expect(Set(listed) == expected, "\(name): missing \(expected.subtracting(listed).sorted()), extra \(Set(listed).subtracting(expected).sorted())")
        }
        #expect(Set(Self.kernelPaths.map { String($0.split(separator: ":")[0]) }) == Set(Self.flagSets.map(\.0)))
    }

    /// Every step of every path the code takes is an arc of vfio.h's state machine.
    @Test func everyStepIsAnArcTheKernelDefines() {
        for (name, flags) in Self.flagSets {
            let states = Self.kernelStates(flags), arcs = Self.kernelArcs(flags)
            for from in states {
                for to in states {
                    guard let path = VFIOMigrationFSM.path(from: from, to: to, flags: flags) else {
                        // vfio_main.c's table: the saving group is left from STOP_COPY only towards STOP; a
                        // pre-copy cannot be entered again from it. Every other pair of a device's states is reachable.
                        #expect(from == .stopCopy && [.preCopy, .preCopyP2P].contains(to), "\(name): \(from) -> \(to) refused")
                        continue
                    }
                    #expect(path.last ?? from == to, "\(name): \(from) -> \(to) ends in \(path.last.map { "\($0)" } ?? "-")")
                    for (a, b) in zip([from] + path, path) {
                        #expect(arcs.contains("\(a.description) \(b.description)"), "\(name): \(from) -> \(to) steps \(a) -> \(b), not an arc of vfio.h")
                    }
                }
            }
        }
    }

    @Test(arguments: kernelCommentCombinations) func commentCombinationsHold(_ line: String) {
        let states = line.components(separatedBy: " -> ").map { Self.state(Substring($0)) }
        let path = VFIOMigrationFSM.path(from: states[0], to: states.last!, flags: [.stopCopy, .p2p, .preCopy])
        #expect(path == Array(states.dropFirst()), "\(line)")
    }

    @Test func unsupportedStatesAndErrorAreRefused() {
        for flags in [VFIOMigrationFlags(), .stopCopy, [.stopCopy, .p2p], [.stopCopy, .preCopy], [.stopCopy, .p2p, .preCopy]] {
            for from in VFIOMigrationState.allCases {
                for to in VFIOMigrationState.allCases where !from.isSupported(by: flags) || !to.isSupported(by: flags) {
                    #expect(VFIOMigrationFSM.path(from: from, to: to, flags: flags) == nil, "\(flags): \(from) -> \(to)")
                }
            }
        }
        #expect(VFIOMigrationFSM.path(from: .stopCopy, to: .preCopy, flags: [.stopCopy, .p2p, .preCopy]) == nil)
    }

    /// The arcs a driver must implement are exactly the single steps the paths use: no path needs an arc the
    /// driver may lack, and every required arc is used.
    @Test func arcsAreExactlyTheStepsThePathsTake() {
        for flags in [VFIOMigrationFlags.stopCopy, [.stopCopy, .p2p], [.stopCopy, .preCopy], [.stopCopy, .p2p, .preCopy]] {
            var used: Set<VFIOMigrationArc> = []
            for from in VFIOMigrationState.allCases {
                for to in VFIOMigrationState.allCases {
                    guard let path = VFIOMigrationFSM.path(from: from, to: to, flags: flags) else { continue }
                    zip([from] + path, path).forEach { used.insert(VFIOMigrationArc($0, $1)) }
                }
            }
            #expect(used == VFIOMigrationFSM.arcs(flags: flags), "\(flags)")
        }
    }

    @Test func dataStreamsOpenWhereTheKernelSays() {
        let flags: VFIOMigrationFlags = [.stopCopy, .p2p, .preCopy]
        let source = VFIOMigrationFSM.path(from: .running, to: .preCopy, flags: flags)!
        #expect(VFIOMigrationFSM.opensDataStream(VFIOMigrationArc(.running, source.last!)))
        let destination = VFIOMigrationFSM.path(from: .running, to: .resuming, flags: flags)!
        #expect(destination == [.runningP2P, .stop, .resuming])
        #expect(VFIOMigrationFSM.opensDataStream(VFIOMigrationArc(.stop, .resuming)))
        #expect(!VFIOMigrationFSM.opensDataStream(VFIOMigrationArc(.preCopyP2P, .stopCopy)), "the pre-copy stream continues")
    }
}
