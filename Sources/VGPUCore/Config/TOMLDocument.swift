/// A TOML 1.0 document as the config reads it: every table's keys in the order written, and every key, table and
/// array item with the line it was written on, so that validation errors can name it.
///
/// `TOMLParser` reads it (standard library only; it passes the toml-test suite's TOML 1.0 cases, see
/// TOMLConformanceTests). Pure: no I/O.
public struct TOMLDocument: Sendable, Equatable {
    public indirect enum Value: Sendable, Equatable {
        case string(String), integer(Int), float(Double), bool(Bool)
        /// An offset date-time, local date-time, local date or local time.
        case dateTime(TOMLDateTime)
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

        public init(key: String, node: Node) {
            self.key = key
            self.node = node
        }
    }

    public struct Table: Sendable, Equatable {
        /// In the order written.
        public var entries: [Entry]

        public init(entries: [Entry]) {
            self.entries = entries
        }

        public subscript(key: String) -> Node? { entries.first { $0.key == key }?.node }
    }

    public var root: Table

    /// Parses `text`; a syntax error names `file`, the line and the column.
    public init(parsing text: String, file: String) throws {
        try self.init(parsing: Array(text.utf8), file: file)
    }

    /// Parses the file's bytes as they are: bytes that are not UTF-8 are refused with their line. A string or key
    /// holding U+0000 (`\u0000`, valid TOML) is refused too: vgpuctl passes names to the kernel and libvirt as C
    /// strings, where a NUL would cut them short.
    public init(parsing bytes: [UInt8], file: String) throws {
        var parser = TOMLParser(bytes, refusingNUL: true)
        root = try parser.document(file: file)
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
