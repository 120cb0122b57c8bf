/// The small part of TOML the host config file uses: `[table]` / `[table."quoted key"]` headers, and
/// `key = value` lines where a value is a "string", true/false, an integer, or a one-line array of strings.
/// Every value remembers its line, so validation errors can point at it.
public struct TOMLSubset: Sendable {
    public enum Value: Equatable, Sendable {
        case string(String), bool(Bool), integer(Int), strings([String])

        var kind: String {
            switch self {
            case .string: return "a string"
            case .bool: return "true or false"
            case .integer: return "an integer"
            case .strings: return "an array of strings"
            }
        }
    }

    public struct Entry: Equatable, Sendable {
        public var key: String
        public var value: Value
        public var line: Int
    }

    public struct Table: Equatable, Sendable {
        /// Header components: `[groups.training]` is ["groups", "training"]; the top level is [].
        public var path: [String]
        public var line: Int
        public var entries: [Entry]
    }

    public private(set) var tables: [Table]

    /// Parses `text`; errors name `file` and the line.
    public init(parsing text: String, file: String) throws {
        tables = [Table(path: [], line: 0, entries: [])]
        var number = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            var scanner = Scanner(Substring(rawLine), file: file, line: number)
            scanner.skipSpaces()
            if scanner.atEndOrComment { continue }
            if scanner.peek == "[" {
                let path = try scanner.header()
                if let earlier = tables.first(where: { $0.path == path }) {
                    throw scanner.error("table [\(path.joined(separator: "."))] is declared twice (first on line \(earlier.line))",
                                        fix: "merge the two into one table")
                }
                tables.append(Table(path: path, line: number, entries: []))
            } else {
                let entry = try scanner.keyValue()
                if let earlier = tables[tables.count - 1].entries.first(where: { $0.key == entry.key }) {
                    throw scanner.error("key '\(entry.key)' is set twice (first on line \(earlier.line))", fix: "keep one of them")
                }
                tables[tables.count - 1].entries.append(entry)
            }
        }
    }
}

/// A cursor over one line.
private struct Scanner {
    let text: Substring
    var index: Substring.Index
    let file: String
    let line: Int

    init(_ text: Substring, file: String, line: Int) {
        self.text = text
        self.index = text.startIndex
        self.file = file
        self.line = line
    }

    var peek: Character? { index < text.endIndex ? text[index] : nil }
    var atEndOrComment: Bool { peek == nil || peek == "#" || peek == "\r" }

    mutating func skipSpaces() {
        while let c = peek, c == " " || c == "\t" { index = text.index(after: index) }
    }

    mutating func expect(_ c: Character, _ what: String) throws {
        guard peek == c else { throw error("expected \(what) at column \(column)", fix: "see the example in README.md") }
        index = text.index(after: index)
    }

    var column: Int { text.distance(from: text.startIndex, to: index) + 1 }

    func error(_ message: String, fix: String) -> VGPUError {
        VGPUError(.invalidInput, "\(file):\(line): \(message)", fix: fix)
    }

    mutating func expectLineEnd() throws {
        skipSpaces()
        guard atEndOrComment else {
            throw error("unexpected '\(text[index...])' at column \(column)", fix: "put one setting per line; comments start with #")
        }
    }

    mutating func header() throws -> [String] {
        try expect("[", "'['")
        var path: [String] = []
        repeat {
            skipSpaces()
            path.append(try key())
            skipSpaces()
        } while peek == "." && { index = text.index(after: index); return true }()
        try expect("]", "']' closing the table header")
        try expectLineEnd()
        return path
    }

    mutating func keyValue() throws -> TOMLSubset.Entry {
        let name = try key()
        skipSpaces()
        try expect("=", "'=' after key '\(name)'")
        skipSpaces()
        let value = try self.value()
        try expectLineEnd()
        return TOMLSubset.Entry(key: name, value: value, line: line)
    }

    /// A bare key (letters, digits, '_', '-') or a "quoted" one (PCI addresses contain ':' and '.').
    mutating func key() throws -> String {
        if peek == "\"" { return try quoted() }
        let start = index
        while let c = peek, c.isLetter || c.isNumber || c == "_" || c == "-" { index = text.index(after: index) }
        guard start < index else {
            throw error("expected a key at column \(column)", fix: "keys are bare words (policy) or quoted (\"0000:17:00.0\")")
        }
        return String(text[start..<index])
    }

    mutating func quoted() throws -> String {
        try expect("\"", "'\"'")
        var out = ""
        while let c = peek, c != "\"" {
            index = text.index(after: index)
            if c == "\\" {
                guard let escaped = peek else { break }
                index = text.index(after: index)
                switch escaped {
                case "\"", "\\": out.append(escaped)
                case "n": out.append("\n")
                case "t": out.append("\t")
                default: throw error("unsupported escape '\\\(escaped)'", fix: "use \\\" or \\\\ inside strings")
                }
            } else {
                out.append(c)
            }
        }
        guard peek == "\"" else { throw error("unterminated string", fix: "close it with '\"' on the same line") }
        index = text.index(after: index)
        return out
    }

    mutating func value() throws -> TOMLSubset.Value {
        switch peek {
        case "\"": return .string(try quoted())
        case "[":
            index = text.index(after: index)
            var items: [String] = []
            skipSpaces()
            while peek != "]" {
                guard peek == "\"" else {
                    throw error(peek == nil ? "unterminated array" : "arrays hold quoted strings only (column \(column))",
                                fix: "write the array on one line: [\"a\", \"b\"]")
                }
                items.append(try quoted())
                skipSpaces()
                if peek == "," { index = text.index(after: index); skipSpaces() } else if peek != "]" {
                    throw error("expected ',' or ']' at column \(column)", fix: "write the array on one line: [\"a\", \"b\"]")
                }
            }
            index = text.index(after: index)
            return .strings(items)
        default:
            let start = index
            while let c = peek, c != " " && c != "\t" && c != "#" && c != "\r" { index = text.index(after: index) }
            let word = text[start..<index]
            if word == "true" { return .bool(true) }
            if word == "false" { return .bool(false) }
            if let number = Int(word) { return .integer(number) }
            throw error("cannot read the value '\(word)'", fix: "quote strings (\"pack\"); booleans are true or false")
        }
    }
}
