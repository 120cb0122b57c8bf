import Foundation
import Testing
@testable import VGPUCore

/// The config file is TOML 1.0, all of it: the parser passes the toml-test suite's TOML 1.0 cases (toml-test/,
/// its README says which commit), every spelling TOML allows gives the same config, a document TOML refuses is
/// refused with the file and the line, and the keys keep the order and the lines they were written on.
@Suite struct TOMLConformanceTests {
    /// One config written in the plainest way; every document of `spellings` must give exactly this.
    static let plain = """
        layout = "inference"
        [groups.training]
        policy = "spread"
        gpus = ["0000:17:00.0", "0000:65:00.0"]
        [gpus."0000:b3:00.0"]
        types = ["nvidia-1414"]
        sriov_numvfs = 16
        [vgpud]
        reconcile_interval = 1000
        [[layouts.inference.entries]]
        gpus = "all"
        vgpus = { "nvidia-1414" = 4, "A100-4C" = 2 }
        """

    static let spellings: [(feature: String, text: String)] = [
        ("multi-line arrays, comments inside arrays, trailing comma", """
            layout = "inference"
            [groups.training]
            policy = "spread"
            gpus = [
              "0000:17:00.0",   # the first
              # a comment on a line of its own
              "0000:65:00.0",
            ]
            [gpus."0000:b3:00.0"]
            types = [
              "nvidia-1414"
            ]
            sriov_numvfs = 16
            [vgpud]
            reconcile_interval = 1000
            [[layouts.inference.entries]]
            gpus = "all"
            vgpus = { "nvidia-1414" = 4, "A100-4C" = 2 }
            """),
        ("inline tables", """
            layout = "inference"
            groups = { training = { policy = "spread", gpus = ["0000:17:00.0", "0000:65:00.0"] } }
            gpus = { "0000:b3:00.0" = { types = ["nvidia-1414"], sriov_numvfs = 16 } }
            vgpud = { reconcile_interval = 1000 }
            layouts = { inference = { entries = [ { gpus = "all", vgpus = { "nvidia-1414" = 4, "A100-4C" = 2 } } ] } }
            """),
        ("dotted keys, spaces around dots", """
            layout = "inference"
            groups.training.policy = "spread"
            groups . training . gpus = ["0000:17:00.0", "0000:65:00.0"]
            gpus."0000:b3:00.0".types = ["nvidia-1414"]
            gpus."0000:b3:00.0".sriov_numvfs = 16
            [ vgpud ]
            reconcile_interval = 1000
            [[ layouts . inference . entries ]]
            gpus = "all"
            vgpus."nvidia-1414" = 4
            vgpus."A100-4C" = 2
            """),
        ("literal and multi-line strings", """
            layout = 'inference'
            [groups.'training']
            policy = \"\"\"
            spr\\
                ead\"\"\"
            gpus = ['0000:17:00.0', '''0000:65:00.0''']
            [gpus.'0000:b3:00.0']
            types = [\"\"\"nvidia-1414\"\"\"]
            sriov_numvfs = 16
            [vgpud]
            reconcile_interval = 1000
            [[layouts.inference.entries]]
            gpus = '''
            all'''
            vgpus = { 'nvidia-1414' = 4, "A100-4C" = 2 }
            """),
        ("\\u and \\U escapes", """
            layout = "\\u0069nference"
            [groups."tr\\u0061ining"]
            policy = "\\U00000073pread"
            gpus = ["0000:17:00.0", "0000:65:00.0"]
            [gpus."0000:b3:00.0"]
            types = ["nvidia-1414"]
            sriov_numvfs = 16
            [vgpud]
            reconcile_interval = 1000
            [[layouts.inference.entries]]
            gpus = "all"
            vgpus = { "nvidia-1414" = 4, "A100\\u002D4C" = 2 }
            """),
        ("CRLF line endings", plain.replacing("\n", with: "\r\n")),
        ("a byte-order mark", "\u{FEFF}" + plain),
        ("integers in other bases and with underscores", plain.replacing("sriov_numvfs = 16", with: "sriov_numvfs = 0x10")
            .replacing("reconcile_interval = 1000", with: "reconcile_interval = 1_000")
            .replacing("\"A100-4C\" = 2", with: "\"A100-4C\" = 0b10")),
        ("sub-tables for vgpus, under an array of tables", """
            layout = "inference"
            [groups.training]
            policy = "spread"
            gpus = ["0000:17:00.0", "0000:65:00.0"]
            [gpus."0000:b3:00.0"]
            types = ["nvidia-1414"]
            sriov_numvfs = 16
            [vgpud]
            reconcile_interval = 1000
            [[layouts.inference.entries]]
            gpus = "all"
            [layouts.inference.entries.vgpus]
            nvidia-1414 = 4
            "A100-4C" = 2
            """),
        ("tables in any order, comments and blank lines everywhere", """
            # the layouts first
            [[layouts.inference.entries]]   # one entry
            gpus = "all"

            vgpus = { "nvidia-1414" = 4, "A100-4C" = 2 }   # in this order
            [vgpud]
            reconcile_interval = 1000
            [gpus."0000:b3:00.0"]
            sriov_numvfs = 16
            types = ["nvidia-1414"]
            [groups.training]
            gpus = ["0000:17:00.0", "0000:65:00.0"]
            policy = "spread"
            """.replacing("# the layouts first", with: "layout = \"inference\"  # the layouts first")),
    ]

    static func expected() throws -> PlacementConfig {
        try HostConfig.parse(plain, file: "f")
    }

    @Test func thePlainSpellingGivesTheConfig() throws {
        let config = try Self.expected()
        #expect(config.groups == [GPUGroup(name: "training", policy: .spread, gpus: ["0000:17:00.0", "0000:65:00.0"]),
                                  GPUGroup(name: "default", policy: .pack, gpus: [])])
        #expect(config.rules == ["0000:b3:00.0": GPURules(enabledTypes: ["nvidia-1414"], sriovNumVFs: 16)])
        #expect(config.daemon == DaemonSettings(reconcileInterval: 1000))
        #expect(config.selectedLayout == "inference")
        #expect(config.layouts == ["inference": DeclaredLayout(name: "inference", entries: [
            .init(gpus: .all, vgpus: [.init(type: "nvidia-1414", count: 4), .init(type: "A100-4C", count: 2)], origin: "f:10"),
        ])])
    }

    @Test(arguments: spellings.indices)
    func everySpellingGivesTheSameConfig(index: Int) throws {
        let (feature, text) = Self.spellings[index]
        var config = try HostConfig.parse(text, file: "f")
        // Entries' origins differ with the spelling; everything else is the same.
        for (name, layout) in config.layouts {
            config.layouts[name]?.entries = layout.entries.map { var entry = $0; entry.origin = "f:10"; return entry }
        }
        #expect(config == (try Self.expected()), "\(feature)")
    }

    @Test func quotedKeysWithSpacesAndUnicode() throws {
        let config = try HostConfig.parse("""
            layout = "big inference"
            [groups."gpu pool"]
            gpus = ["mtty", "0000:17:00.0"]
            [[layouts."big inference".entries]]
            group = "gpu pool"
            vgpus = { "mtty-2" = 1 }
            [[layouts."é \\U0001F600".entries]]
            gpus = ["mtty"]
            vgpus = { "mtty-1" = 2 }
            """, file: "f")
        #expect(config.groups.first?.name == "gpu pool")
        #expect(config.layouts["big inference"]?.entries == [.init(gpus: .group("gpu pool"), vgpus: [.init(type: "mtty-2", count: 1)], origin: "f:4")])
        #expect(config.layouts["é 😀"]?.entries.first?.origin == "f:7")
    }

    /// Keys keep the order written and each key, item and table its own line, also after
    /// multi-line strings and arrays, in CRLF files and after a byte-order mark.
    @Test func linesAndOrderFollowTheText() throws {
        let text = """
            [groups.a]
            policy = \"\"\"
            pack\"\"\"
            gpus = [
              "x",

              "y/z",
            ]
            """
        for variant in [text, text.replacing("\n", with: "\r\n"), "\u{FEFF}" + text] {
            let error = #expect(throws: VGPUError.self) { try HostConfig.parse(variant, file: "f") }
            #expect(error?.message.hasPrefix("f:7: GPU 'y/z' would leave its directory") == true, "\(error?.message ?? "")")
        }
        let document = try TOMLDocument(parsing: """
            z = 1
            [[t.entries]]
            b = { y = 1, x = 2, w.v = 3 }
            a = '''
            two
            lines'''
            [[t.entries]]
            c = [
              1,
              [2, { q = 3 }],
            ]
            [t.u]
            m.n = 1
            """, file: "f")
        #expect(document.root.entries.map(\.key) == ["z", "t"])
        guard case .table(let t)? = document.root["t"]?.value, case .array(let entries)? = t["entries"]?.value,
              case .table(let first) = entries[0].value, case .table(let second) = entries[1].value,
              case .table(let b)? = first["b"]?.value, case .array(let c)? = second["c"]?.value else {
            Issue.record("unexpected shape: \(document.root)"); return
        }
        #expect(t.entries.map(\.key) == ["entries", "u"])
        #expect(entries.map(\.line) == [2, 7], "an array of tables' tables: their headers' lines")
        #expect(first.entries.map(\.key) == ["b", "a"])
        #expect(first.entries.map(\.line) == [3, 4])
        #expect(b.entries.map(\.key) == ["y", "x", "w"])
        #expect(c.map(\.line) == [9, 10])
        #expect(t["u"]?.line == 12)
        #expect(document.root["z"]?.value == .integer(1))
    }

    /// Each document TOML refuses: the file, the line of the mistake.
    @Test(arguments: [
        ("[groups.a\n", 1),
        ("[groups.a]\npolicy = pack", 2),
        ("[groups.a]\npolicy = \"pack\"\npolicy = \"spread\"", 3),
        ("[groups.a]\n\n[groups.a]", 3),
        ("[groups.a]\npolicy = \"pack", 2),
        ("[groups.a]\ngpus = [\"x\",", 2),
        ("[groups.a]\ngpus = [\"x\",\n\"y\"\n", 2),  // an array never closed: the line where it opens
        ("a = \"\\x41\"", 1),
        ("[gpus.0000:17:00.0]", 1),
        ("a = { b = 1,\n c = 2 }", 1),
        ("a = { b = 1, }", 1),
        ("a = 1\n[[a]]", 2),
        ("[g]\nn = 08", 2),
        ("n = 9223372036854775808", 1),
        ("s = \"a\u{1}b\"", 1),
        ("a = 1\rb = 2", 1),
        ("a.b = 1\na.b.c = 2", 2),
        ("[a]\nb.c = 1\n[a.b]", 3),
        ("a = \"\"\"x", 1),
        ("\u{FEFF}\r\n\r\n[x", 3),
        ("a = 1\u{0}\nb = 2", 1),
        ("[x]\n\"a\\u0000\" = 1", 2),
        ("[x]\na = \"b\\u0000\"", 2),
        // toml++ 3.4.0 (TOMLKit, the parser before this one) asserted on these: fuzzing found them.
        ("[/", 1),
        ("[S-]\np= [} = \"", 2),
        ("a = [\n  1,\n  \u{A0}2]", 3),
        ("a = 1\n\n  [[ /x]]", 3),
        ("\u{FEFF}[ \u{e9}]", 1),
        ("a = [\n[/]]\n[=", 2),
        ("a = \"\"\"\n[/\"\"\"\nb = pack\n[/", 3),
        ("__ =1979-05-27T'7:32:00Z ", 1),
        ("[vgpud]\nprune = false\nd = 1979-05-27t", 3),
        ("a = [1979-05-27T]", 1),
        ("a = \"\u{FEFF}\"\nb = \"\\uD800\"", 2),
        ("a = 1\n" + Array(repeating: "b", count: 300).joined(separator: ".") + " = 1", 2),
        ("a = 1\nb = " + String(repeating: "{ c.d.e.f.g.h.i.j.k.l = ", count: 40), 2),
        ("a = 1\nb = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 2),
    ])
    func invalidTOMLIsRefusedWithFileAndLine(text: String, line: Int) {
        let error = #expect(throws: VGPUError.self) { try HostConfig.parse(text, file: "/etc/vgpuctl/vgpuctl.conf") }
        #expect(error?.kind == .invalidInput)
        #expect(error?.message.hasPrefix("/etc/vgpuctl/vgpuctl.conf:\(line): ") == true, "\(text): \(error?.message ?? "no error")")
        #expect(error?.fix.isEmpty == false)
    }
}

/// The toml-test suite's TOML 1.0 cases (toml-test/files-toml-1.0.0): every valid document parses to the
/// expected tagged JSON, every invalid one is refused with the file, the line and a fix.
extension TOMLConformanceTests {
    static let suite = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("toml-test")

    /// Cases this parser does not pass, one a line: `NAME  reason` (toml-test/not-passed.txt; none today).
    static func notPassed() -> Set<String> {
        guard let text = try? String(contentsOf: suite.appendingPathComponent("not-passed.txt"), encoding: .utf8) else { return [] }
        return Set(text.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
    }

    static func cases(_ kind: String) throws -> [String] {
        let list = try String(contentsOf: suite.appendingPathComponent("files-toml-1.0.0"), encoding: .utf8)
        return list.split(separator: "\n").map(String.init).filter { $0.hasPrefix(kind + "/") && $0.hasSuffix(".toml") }
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: suite.appendingPathComponent(name)))
    }

    @Test func everyValidCaseGivesTheExpectedJSON() throws {
        let names = try Self.cases("valid"), skipped = Self.notPassed()
        #expect(names.count > 150, "the suite's cases are in Tests/VGPUCoreTests/toml-test")
        var passed = 0
        for name in names where !skipped.contains(name) {
            let table: TOMLDocument.Table
            do { table = try { var parser = TOMLParser(try Self.bytes(name)); return try parser.parse() }() } catch {
                Issue.record("\(name): refused: \(error)")
                continue
            }
            let json = try JSONSerialization.jsonObject(with: Data(try Self.bytes(String(name.dropLast(5)) + ".json")),
                                                        options: [.fragmentsAllowed])
            if let mismatch = Self.mismatch(.table(table), json, at: "") {
                Issue.record("\(name): \(mismatch)")
            } else {
                passed += 1
            }
        }
        print("toml-test TOML 1.0 valid cases: \(passed) of \(names.count) passed, \(skipped.filter { $0.hasPrefix("valid/") }.count) listed as not passed")
    }

    @Test func everyInvalidCaseIsRefusedWithLineAndFix() throws {
        let names = try Self.cases("invalid"), skipped = Self.notPassed()
        #expect(names.count > 400, "the suite's cases are in Tests/VGPUCoreTests/toml-test")
        var refused = 0
        for name in names where !skipped.contains(name) {
            let bytes = try Self.bytes(name)
            var parser = TOMLParser(bytes)
            do {
                _ = try parser.parse()
                Issue.record("\(name): accepted")
                continue
            } catch {}
            let error = #expect(throws: VGPUError.self, "\(name)") { try TOMLDocument(parsing: bytes, file: "f") }
            guard let error, error.message.hasPrefix("f:"), error.message.dropFirst(2).first?.isNumber == true, !error.fix.isEmpty else {
                Issue.record("\(name): the refusal names no line or no fix: \(String(describing: error))")
                continue
            }
            refused += 1
        }
        print("toml-test TOML 1.0 invalid cases: \(refused) of \(names.count) refused, \(skipped.filter { $0.hasPrefix("invalid/") }.count) listed as not passed")
    }

    /// The comparison itself can fail: a wrong value, kind, key or date-time is a mismatch.
    @Test func theComparisonSeesDifferences() {
        #expect(Self.mismatch(.integer(1), ["type": "integer", "value": "1"], at: "") == nil)
        #expect(Self.mismatch(.integer(1), ["type": "integer", "value": "2"], at: "") != nil)
        #expect(Self.mismatch(.integer(1), ["type": "float", "value": "1.0"], at: "") != nil)
        #expect(Self.mismatch(.float(0.1), ["type": "float", "value": "1e-1"], at: "") == nil, "floats by value")
        #expect(Self.mismatch(.float(.nan), ["type": "float", "value": "+nan"], at: "") == nil)
        let offset = TOMLDateTime(date: .init(year: 1979, month: 5, day: 27), time: .init(hour: 0, minute: 32, second: 0, nanosecond: 0),
                                  offsetMinutes: -420)
        #expect(Self.mismatch(.dateTime(offset), ["type": "datetime", "value": "1979-05-27T07:32:00Z"], at: "") == nil, "the same instant")
        #expect(Self.mismatch(.dateTime(offset), ["type": "datetime", "value": "1979-05-27T00:32:00Z"], at: "") != nil)
        #expect(Self.mismatch(.dateTime(offset), ["type": "datetime-local", "value": "1979-05-27T00:32:00"], at: "") != nil)
        let table = TOMLDocument.Value.table(.init(entries: [.init(key: "a", node: .init(.bool(true), line: 1))]))
        #expect(Self.mismatch(table, ["a": ["type": "bool", "value": "true"]], at: "") == nil)
        #expect(Self.mismatch(table, ["b": ["type": "bool", "value": "true"]], at: "") != nil)
        #expect(Self.mismatch(table, [String: Any](), at: "") != nil)
    }

    /// How `value` differs from toml-test's tagged JSON (`{"type": T, "value": V}` for values), or nil.
    static func mismatch(_ value: TOMLDocument.Value, _ json: Any, at path: String) -> String? {
        switch value {
        case .table(let table):
            guard let object = json as? [String: Any] else { return "\(path): a table, expected \(json)" }
            let keys = table.entries.map(\.key)
            guard Set(keys) == Set(object.keys), keys.count == object.count else {
                return "\(path): keys \(keys.sorted()), expected \(object.keys.sorted())"
            }
            for entry in table.entries {
                if let mismatch = mismatch(entry.node.value, object[entry.key]!, at: path + "." + entry.key) { return mismatch }
            }
            return nil
        case .array(let items):
            guard let array = json as? [Any], array.count == items.count else { return "\(path): \(items.count) items, expected \(json)" }
            for (offset, item) in items.enumerated() {
                if let mismatch = mismatch(item.value, array[offset], at: path + "[\(offset)]") { return mismatch }
            }
            return nil
        default:
            guard let object = json as? [String: Any], let type = object["type"] as? String, let expected = object["value"] as? String else {
                return "\(path): \(value), expected \(json)"
            }
            let same: Bool
            switch (value, type) {
            case (.string(let string), "string"): same = string == expected
            case (.integer(let integer), "integer"): same = Int(expected) == integer
            case (.bool(let bool), "bool"): same = String(bool) == expected.lowercased()
            case (.float(let float), "float"):
                let lower = expected.lowercased()
                if lower.hasSuffix("nan") { same = float.isNaN } else {
                    let magnitude = lower.trimmingPrefix("+").trimmingPrefix("-")
                    let parsed = magnitude == "inf" ? Double.infinity : Double(magnitude)
                    same = parsed.map { (lower.hasPrefix("-") ? -$0 : $0) == float } ?? false
                }
            case (.dateTime(let dateTime), _):
                guard let want = TOMLScalar.dateTime(Array(expected.utf8)[...]) else { return "\(path): expected value \(expected) is no date" }
                same = type == Self.tag(dateTime) && Self.tag(want) == type && Self.instant(want) == Self.instant(dateTime)
            default: same = false
            }
            return same ? nil : "\(path): \(value), expected \(type) \(expected)"
        }
    }

    static func tag(_ value: TOMLDateTime) -> String {
        switch (value.date != nil, value.time != nil, value.offsetMinutes != nil) {
        case (true, true, true): return "datetime"
        case (true, true, false): return "datetime-local"
        case (true, false, _): return "date-local"
        default: return "time-local"
        }
    }

    /// Offset date-times compare as instants (toml-test's rule); local values field by field.
    static func instant(_ value: TOMLDateTime) -> [Int] {
        guard let date = value.date, let time = value.time, let offset = value.offsetMinutes else {
            return [value.date?.year ?? -1, value.date?.month ?? -1, value.date?.day ?? -1,
                    value.time?.hour ?? -1, value.time?.minute ?? -1, value.time?.second ?? -1, value.time?.nanosecond ?? -1]
        }
        // Days since 1970-01-01 (Howard Hinnant's days_from_civil), then seconds.
        let year = date.month <= 2 ? date.year - 1 : date.year
        let era = (year >= 0 ? year : year - 399) / 400
        let yearOfEra = year - era * 400
        let dayOfYear = (153 * (date.month + (date.month > 2 ? -3 : 9)) + 2) / 5 + date.day - 1
        let days = era * 146_097 + (yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear) - 719_468
        return [days * 86_400 + time.hour * 3600 + time.minute * 60 + time.second - offset * 60, time.nanosecond]
    }
}
