import TOMLKit

/// A TOML 1.0 document as the config reads it: every table's keys in the order written, and every key, table and
/// array item with the line it was written on, so that validation errors can name it.
///
/// The syntax is TOMLKit's (toml++, which upstream passes the toml-test suite's valid and invalid cases): a
/// document it refuses is refused here with its line and column. toml++ keeps tables as sorted maps and TOMLKit
/// does not expose its source positions, so the order and the lines come from a light scan of the same text
/// (`KeyLocator`), which only has to follow documents toml++ has already accepted. Pure: no I/O.
public struct TOMLDocument: Sendable, Equatable {
    public indirect enum Value: Sendable, Equatable {
        case string(String), integer(Int), float(Double), bool(Bool)
        /// An offset date-time, local date-time, local date or local time, as written back by toml++.
        case dateTime(String)
        case array([Node])
        case table(Table)

        /// How an error message names the kind of value.
        public var kind: String {
            switch self {
            case .string: return "a string"
            case .integer: return "an integer"
            case .float: return "a float"
            case .bool: return "true or false"
            case .dateTime: return "a date or time"
            case .array: return "an array"
            case .table: return "a table"
            }
        }
    }

    /// A value and the line it starts on (a table: its header, or the first key that made it).
    public struct Node: Sendable, Equatable {
        public var value: Value
        public var line: Int

        public init(_ value: Value, line: Int) {
            self.value = value
            self.line = line
        }
    }

    public struct Entry: Sendable, Equatable {
        public var key: String
        public var node: Node
        /// Where the key was first written (for a table made by a header, the header's line).
        public var line: Int { node.line }
    }

    public struct Table: Sendable, Equatable {
        /// In the order written.
        public var entries: [Entry]

        public subscript(key: String) -> Node? { entries.first { $0.key == key }?.node }
    }

    public var root: Table
    /// Keys the scan could not place (they were given their table's line and put last). Empty unless the scan and
    /// toml++ disagree about a document; the fuzz target checks that it stays empty.
    public private(set) var unlocatedKeys: [String] = []

    /// Parses `text`; a syntax error names `file`, the line and the column.
    public init(parsing text: String, file: String) throws {
        let bytes = Array(text.utf8)
        // TOMLKit hands toml++ a C string: a NUL byte would silently end the document there, and a NUL in a
        // string or key would silently shorten it. TOML allows neither in the file; a \u0000 escape is refused too.
        if let nul = bytes.firstIndex(of: 0) {
            throw VGPUError(.invalidInput, "\(file):\(Self.line(of: nul, in: bytes)): the file contains a NUL byte",
                            fix: "remove it: TOML allows no control characters but tab outside strings' escapes")
        }
        var locator = KeyLocator(bytes)
        locator.scan()
        // toml++ 3.4.0 (in TOMLKit 0.6.0) asserts, or with NDEBUG assumes, that a table header's '[' is followed
        // by a key or ']': "[/" aborts the process. The scan follows what toml++ reads up to its first error, so
        // such a header is refused here; toml++ still reports any earlier mistake (it parses the text before it).
        if let header = locator.keylessHeader {
            try Self.parse(text: String(decoding: bytes[..<header.offset], as: UTF8.self), file: file, bytes: bytes).clear()
            throw VGPUError(.invalidInput, "\(file):\(header.line): a table header without a key",
                            fix: "name the table after '[': [groups.NAME], [gpus.\"0000:17:00.0\"], [[layouts.NAME.entries]]")
        }
        if let line = locator.badDateTimeLine {
            throw VGPUError(.invalidInput, "\(file):\(line): a date followed by 'T' but no time",
                            fix: "write a whole date-time, 1979-05-27T07:32:00Z, or the date alone, 1979-05-27")
        }
        if let line = locator.badArrayItemLine {
            throw VGPUError(.invalidInput, "\(file):\(line): an array holds something that is not a value",
                            fix: "write the array's items as values separated by commas: [\"a\", \"b\"]")
        }
        let parsed = try Self.parse(text: text, file: file, bytes: bytes)
        defer { parsed.clear() }  // TOMLKit never frees a parsed document; clearing the root frees all of its nodes
        if let line = locator.nulEscapeLine {
            throw VGPUError(.invalidInput, "\(file):\(line): a string or key holds \\u0000 (NUL)",
                            fix: "remove it: vgpuctl passes names to the kernel and libvirt, where a NUL would cut them short")
        }
        var unlocated: [String] = []
        root = Self.table(parsed, path: [], line: 1, positions: locator.positions, unlocated: &unlocated)
        unlocatedKeys = unlocated
    }

    private static func parse(text: String, file: String, bytes: [UInt8]) throws -> TOMLTable {
        do { return try TOMLTable(string: text) } catch let error as TOMLParseError {
            throw Self.syntaxError(error, file: file, bytes: bytes)
        }
    }

    static func line(of offset: Int, in bytes: [UInt8]) -> Int {
        bytes[..<offset].reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
    }

    /// toml++'s message, with the file, the line and the column, and a fix for the usual mistakes.
    static func syntaxError(_ error: TOMLParseError, file: String, bytes: [UInt8]) -> VGPUError {
        let line = max(error.source.begin.line, 1), column = error.source.begin.column
        // toml++ writes "Error while parsing value: ..."; vgpuctl's messages start in lower case.
        var description = error.description.prefix(1).lowercased() + error.description.dropFirst()
        // "cannot redefine existing integer 'KEY'": toml++ 3.4 can garble KEY (seen: '"mtmtty-1" ' for "mtty-1");
        // the line, the column and the source line quoted below say which key it is.
        if let range = description.range(of: "cannot redefine existing "),
           let quote = description[range.upperBound...].firstIndex(of: "'") {
            description = String(description[..<quote]).trimmingSuffix(" ")
        }
        let lower = description.lowercased()
        let fix: String
        if lower.contains("redefin") || lower.contains("duplicate") {
            fix = "a key or table may be defined once: keep one of them, or merge the two tables"
        } else if lower.contains("end-of-file") || lower.contains("unterminated") {
            fix = "close the string, array, inline table or header that is still open there"
        } else if lower.contains("escape") {
            fix = "TOML 1.0's escapes are \\\" \\\\ \\b \\t \\n \\f \\r \\uXXXX \\UXXXXXXXX; or use a 'literal string'"
        } else if lower.contains("control character") {
            fix = "write control characters as escapes (\\t, \\u0001) inside a \"basic string\""
        } else if lower.contains("'\\r'") {
            fix = "end lines with LF or CR LF, not a lone CR"
        } else if lower.contains("64 bits") {
            fix = "use a smaller integer"
        } else if lower.contains("inline table") {
            fix = "write an inline table on one line, without a trailing comma: { a = 1, b = 2 }; or use a [table]"
        } else if lower.contains("table header") && lower.contains("saw '\\n'") {
            fix = "close the table header with ']' on its own line: [groups.NAME]"
        } else if lower.contains("table header") || lower.contains("key") && lower.contains("saw") {
            fix = "quote keys that hold characters other than letters, digits, '_' and '-': [gpus.\"0000:17:00.0\"]"
        } else {
            fix = "write TOML 1.0 there (strings are quoted: policy = \"pack\"; see the examples in README.md)"
        }
        let columnText = column > 0 ? " (column \(column))" : ""
        // The source line, so the message stands on its own in a journal or a CI log.
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        var source = line <= lines.count ? String(decoding: lines[line - 1], as: UTF8.self) : ""
        source = Validation.printable(String(source.drop { $0 == "\u{FEFF}" }.trimmingSuffix("\r")))
        if source.count > 100 { source = String(source.prefix(100)) + "..." }
        let sourceText = source.allSatisfy { $0 == " " || $0 == "\t" } ? "" : ": \(source)"
        return VGPUError(.invalidInput, "\(file):\(line): \(description)\(columnText)\(sourceText)", fix: fix)
    }

    private static func table(_ table: TOMLTable, path: [KeyLocator.Part], line: Int,
                              positions: [[KeyLocator.Part]: KeyLocator.Position], unlocated: inout [String]) -> Table {
        var located: [(entry: Entry, position: KeyLocator.Position)] = []
        for (key, value) in zip(table.keys, table.values) {
            let keyPath = path + [.key(key)]
            let position: KeyLocator.Position
            if let found = positions[keyPath] { position = found } else {
                unlocated.append(keyPath.map(\.description).joined(separator: "."))
                position = KeyLocator.Position(line: line, column: Int.max)
            }
            let node = Self.node(value, path: keyPath, line: position.line, positions: positions, unlocated: &unlocated)
            located.append((Entry(key: key, node: node), position))
        }
        // Sorted by where each key was written (stable: the unlocated keep toml++'s order, after the rest).
        let ordered = located.enumerated().sorted { a, b in
            (a.element.position.line, a.element.position.column, a.offset) < (b.element.position.line, b.element.position.column, b.offset)
        }
        return Table(entries: ordered.map(\.element.entry))
    }

    private static func node(_ value: TOMLValueConvertible, path: [KeyLocator.Part], line: Int,
                             positions: [[KeyLocator.Part]: KeyLocator.Position], unlocated: inout [String]) -> Node {
        switch value.type {
        case .table:
            guard let table = value.table else { return Node(.table(Table(entries: [])), line: line) }
            return Node(.table(Self.table(table, path: path, line: line, positions: positions, unlocated: &unlocated)), line: line)
        case .array:
            guard let array = value.array else { return Node(.array([]), line: line) }
            var items: [Node] = []
            for index in 0..<array.count {
                let itemPath = path + [.index(index)]
                items.append(Self.node(array[index], path: itemPath, line: positions[itemPath]?.line ?? line,
                                       positions: positions, unlocated: &unlocated))
            }
            return Node(.array(items), line: line)
        case .string: return Node(.string(value.string ?? ""), line: line)
        case .int: return Node(.integer(value.int ?? 0), line: line)
        case .double: return Node(.float(value.double ?? 0), line: line)
        case .bool: return Node(.bool(value.bool ?? false), line: line)
        case .date, .time, .dateTime: return Node(.dateTime(value.debugDescription), line: line)
        }
    }
}

/// Where each key, table and array item of a TOML document is first written, and in what order: a scan of the
/// text that follows TOML's lexical rules (the four kinds of string, comments, dotted and quoted keys, headers,
/// arrays of tables, inline tables, multi-line arrays) and skips other values. It runs only on documents toml++
/// has accepted, and never fails: on anything unexpected it stops, and what it did not reach is "unlocated".
struct KeyLocator {
    enum Part: Hashable, Sendable, CustomStringConvertible {
        case key(String), index(Int)

        var description: String {
            switch self {
            case .key(let key): return key
            case .index(let index): return "[\(index)]"
            }
        }
    }

    struct Position: Equatable, Sendable {
        var line: Int
        var column: Int
    }

    private struct Stop: Error {}

    private let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private var lineStart = 0
    /// Every key path (and array item: `.index`) to where it is first written.
    private(set) var positions: [[Part]: Position] = [:]
    /// How many tables each array of tables (`[[path]]`) has so far.
    private var tableArrays: [[Part]: Int] = [:]
    /// The first line with a \u0000 or \U00000000 escape.
    private(set) var nulEscapeLine: Int?
    /// A table header whose '[' or '[[' is followed by neither a key nor ']' (where its line starts, and its line).
    private(set) var keylessHeader: (offset: Int, line: Int)?
    /// The line of an array item that starts with '}' or non-ASCII whitespace.
    private(set) var badArrayItemLine: Int?
    /// The line of a date followed by `T` and no digit, on which toml++ 3.4.0 asserts (or with NDEBUG assumes)
    /// that a time follows ("1979-05-27T'7:32:00Z" aborted the process; found by fuzzing).
    private(set) var badDateTimeLine: Int?

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func scan() {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3; lineStart = 3 }
        var table: [Part] = []
        do {
            while true {
                skipBlankLinesAndComments()
                guard let byte = peek() else { return }
                if byte == UInt8(ascii: "[") {
                    table = try header()
                } else {
                    try keyValue(in: table)
                }
            }
        } catch {
            return  // Stop: what was not reached stays unlocated
        }
    }

    // MARK: - Structure

    private mutating func header() throws -> [Part] {
        let position = here
        index += 1
        let isArray = peek() == UInt8(ascii: "[")
        if isArray { index += 1 }
        skipSpaces()
        if let next = peek(), !Self.isBareKeyByte(next), next != UInt8(ascii: "\""), next != UInt8(ascii: "'"), next != UInt8(ascii: "]") {
            keylessHeader = (lineStart, line)
            throw Stop()
        }
        let keys = try key()
        skipSpaces()
        try expect("]")
        if isArray { try expect("]") }
        // A component that is an array of tables means its last table: [[a]] then [a.b] is a's last table's b.
        var path: [Part] = []
        for (offset, key) in keys.enumerated() {
            path.append(key)
            note(path, at: position)
            if offset < keys.count - 1 || !isArray, let count = tableArrays[path] { path.append(.index(count - 1)) }
        }
        if isArray {
            let count = tableArrays[path, default: 0]
            tableArrays[path] = count + 1
            // Tables under the array's earlier tables start afresh: [[a.b]] under a new [[a]] is a new array.
            path.append(.index(count))
            note(path, at: position)
        }
        return path
    }

    /// `key = value`, in a table or an inline table: records where the key is written, then reads its value.
    private mutating func keyValue(in table: [Part]) throws {
        let position = here
        let keys = try key()
        record(table, keys, at: position)
        skipSpaces()
        try expect("=")
        skipSpaces()
        try value(table + keys)
    }

    private mutating func value(_ path: [Part]) throws {
        guard let byte = peek() else { throw Stop() }
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            _ = try string()
        case UInt8(ascii: "["):
            index += 1
            var item = 0
            while true {
                skipBlankLinesAndComments()
                guard let next = peek() else { throw Stop() }
                if next == UInt8(ascii: "]") { index += 1; return }
                // toml++ 3.4.0 asserts that an array item does not start with '}' or non-ASCII whitespace.
                if next == UInt8(ascii: "}") || next >= 0x80 && Self.startsWithUnicodeSpace(bytes[index...]) {
                    badArrayItemLine = line
                    throw Stop()
                }
                note(path + [.index(item)], at: here)
                try value(path + [.index(item)])
                skipBlankLinesAndComments()
                if peek() == UInt8(ascii: ",") { index += 1 }
                item += 1
            }
        case UInt8(ascii: "{"):
            index += 1
            while true {
                skipBlankLinesAndComments()
                guard let next = peek() else { throw Stop() }
                if next == UInt8(ascii: "}") { index += 1; return }
                try keyValue(in: path)
                skipSpaces()
                if peek() == UInt8(ascii: ",") { index += 1 }
            }
        default:
            // A number, boolean or date-time (which may hold one space): up to what ends a value.
            let start = index
            while let next = peek(), !"\n,]}#".utf8.contains(next) { index += 1 }
            guard index > start else { throw Stop() }
            if Self.isDateWithoutTime(bytes[start..<index]) {
                badDateTimeLine = line
                throw Stop()
            }
        }
    }

    /// A dotted key: `a`, `"quoted key"`, `'literal'`, `a . "b".c`.
    private mutating func key() throws -> [Part] {
        var parts: [Part] = []
        while true {
            guard let byte = peek() else { throw Stop() }
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                parts.append(.key(try string()))
            } else {
                let start = index
                while let next = peek(), Self.isBareKeyByte(next) { index += 1 }
                guard index > start else { throw Stop() }
                parts.append(.key(String(decoding: bytes[start..<index], as: UTF8.self)))
            }
            skipSpaces()
            guard peek() == UInt8(ascii: ".") else { return parts }
            index += 1
            skipSpaces()
        }
    }

    /// `YYYY-MM-DDT` (or `t`) not followed by a digit: not TOML, and what toml++ 3.4.0 cannot refuse safely.
    static func isDateWithoutTime(_ token: ArraySlice<UInt8>) -> Bool {
        let token = Array(token)
        guard token.count >= 11 else { return false }
        let isDigit = { (byte: UInt8) in (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        for (offset, byte) in token[0..<10].enumerated() {
            guard offset == 4 || offset == 7 ? byte == UInt8(ascii: "-") : isDigit(byte) else { return false }
        }
        guard token[10] == UInt8(ascii: "T") || token[10] == UInt8(ascii: "t") else { return false }
        return token.count == 11 || !isDigit(token[11])
    }

    static func startsWithUnicodeSpace(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard let scalar = String(decoding: bytes.prefix(4), as: UTF8.self).unicodeScalars.first else { return false }
        return scalar.properties.isWhitespace
    }

    static func isBareKeyByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }

    /// Any of the four kinds of string; returns its value (escapes decoded; only keys need it exactly).
    private mutating func string() throws -> String {
        let quote = bytes[index]
        let literal = quote == UInt8(ascii: "'")
        let multiLine = bytes[index...].starts(with: [quote, quote, quote])
        index += multiLine ? 3 : 1
        var out: [UInt8] = []
        while true {
            guard let byte = peek() else { throw Stop() }
            if byte == quote {
                if !multiLine { index += 1; break }
                if bytes[index...].starts(with: [quote, quote, quote]) {
                    // Up to two more quotes right before the closing three belong to the string.
                    var run = 0
                    while index + run < bytes.count, bytes[index + run] == quote { run += 1 }
                    out.append(contentsOf: repeatElement(quote, count: min(run - 3, 2)))
                    index += run
                    break
                }
                out.append(byte); index += 1
            } else if byte == UInt8(ascii: "\\") && !literal {
                index += 1
                guard let escaped = peek() else { throw Stop() }
                index += 1
                switch escaped {
                case UInt8(ascii: "u"), UInt8(ascii: "U"):
                    let digits = escaped == UInt8(ascii: "u") ? 4 : 8
                    guard index + digits <= bytes.count,
                          let code = UInt32(String(decoding: bytes[index..<index + digits], as: UTF8.self), radix: 16) else { throw Stop() }
                    index += digits
                    if code == 0, nulEscapeLine == nil { nulEscapeLine = line }
                    out.append(contentsOf: String(Unicode.Scalar(code).map(Character.init) ?? "\u{FFFD}").utf8)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: " "), UInt8(ascii: "\t"):
                    // A line-ending backslash (multi-line strings): it and the whitespace after it are dropped.
                    index -= 1
                    while let next = peek(), next == UInt8(ascii: " ") || next == UInt8(ascii: "\t")
                            || next == UInt8(ascii: "\r") || next == UInt8(ascii: "\n") {
                        advance()
                    }
                default: out.append(escaped)
                }
            } else {
                out.append(byte)
                advance()
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: - Positions

    /// Records the table's key path `keys` and each of its dotted prefixes (`a.b.c = 1` makes a and a.b).
    private mutating func record(_ table: [Part], _ keys: [Part], at position: Position) {
        var path = table
        for key in keys {
            path.append(key)
            note(path, at: position)
        }
    }

    private mutating func note(_ path: [Part], at position: Position) {
        if positions[path] == nil { positions[path] = position }
    }

    // MARK: - Bytes

    private var here: Position { Position(line: line, column: index - lineStart + 1) }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    /// One byte, counting lines.
    private mutating func advance() {
        if bytes[index] == UInt8(ascii: "\n") { line += 1; lineStart = index + 1 }
        index += 1
    }

    private mutating func expect(_ character: Unicode.Scalar) throws {
        guard peek() == UInt8(ascii: character) else { throw Stop() }
        index += 1
    }

    private mutating func skipSpaces() {
        while let byte = peek(), byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { index += 1 }
    }

    private mutating func skipBlankLinesAndComments() {
        while let byte = peek() {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"): advance()
            case UInt8(ascii: "#"): while let next = peek(), next != UInt8(ascii: "\n") { index += 1 }
            default: return
            }
        }
    }
}

extension StringProtocol {
    /// Without the trailing `character`s.
    func trimmingSuffix(_ character: Character) -> String {
        var text = String(self)
        while text.last == character { text.removeLast() }
        return text
    }
}
