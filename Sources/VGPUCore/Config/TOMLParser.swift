/// TOML 1.0 (https://toml.io/en/v1.0.0), read from raw bytes into a `TOMLDocument.Table`: keys in the order
/// written, each key, table and array item with its line. Standard library only, one pass, no recursion limit
/// beyond `maximumNesting`. Every refusal is a `Failure` at a byte offset; `document(file:)` turns it into a
/// VGPUError naming the file, the line, the column and the source line, with a fix.
struct TOMLParser {
    /// A syntax error at a byte offset of the document.
    struct Failure: Error, Equatable {
        var offset: Int
        var message: String
        var fix: String
    }

    /// Arrays, inline tables and dotted keys nested deeper than this are refused, and keys with more parts: the
    /// parser and the document's values recurse once a level, and a hostile file must not overflow the stack.
    /// (A table is then at most twice this deep: a header's parts, then dotted keys and inline tables.)
    static let maximumNesting = 256

    private let bytes: [UInt8]
    private let refusesNUL: Bool
    private var index = 0
    private var depth = 0
    /// The line of `lineCursor.offset`, so that asking the line of increasing offsets costs one pass in all.
    private var lineCursor = (offset: 0, line: 1)

    init(_ bytes: [UInt8], refusingNUL: Bool = false) {
        self.bytes = bytes
        self.refusesNUL = refusingNUL
    }

    // MARK: - The tree being built

    /// A table that headers or dotted keys may still add to. Inline tables and arrays are finished values
    /// (`Item.value`) as soon as they are read: nothing may add to them afterwards.
    private final class TableBuilder {
        enum Origin {
            /// Made as a prefix of a header (`[a.b]` makes `a`); a header of its own may still define it, once.
            case implicit
            /// Defined by its header.
            case header
            /// Made by a dotted key (`a.b = 1` makes `a`); only more dotted keys of the same table add to it.
            case dotted
        }

        var origin: Origin
        let line: Int
        var order: [String] = []
        var items: [String: Item] = [:]

        init(_ origin: Origin, line: Int) {
            self.origin = origin
            self.line = line
        }

        func add(_ key: String, _ item: Item) {
            order.append(key)
            items[key] = item
        }

        var table: TOMLDocument.Table {
            TOMLDocument.Table(entries: order.map { key in
                switch items[key]! {
                case .value(let node): return TOMLDocument.Entry(key: key, node: node)
                case .table(let table): return TOMLDocument.Entry(key: key, node: TOMLDocument.Node(.table(table.table), line: table.line))
                case .tables(let array):
                    let tables = array.tables.map { TOMLDocument.Node(.table($0.table), line: $0.line) }
                    return TOMLDocument.Entry(key: key, node: TOMLDocument.Node(.array(tables), line: array.line))
                }
            })
        }
    }

    /// An array of tables (`[[a]]`).
    private final class TableArray {
        let line: Int
        var tables: [TableBuilder] = []

        init(line: Int) {
            self.line = line
        }
    }

    private enum Item {
        case value(TOMLDocument.Node)
        case table(TableBuilder)
        case tables(TableArray)
    }

    /// A key as written: its parts (`a."b c".d`), where it starts, and how to show it in a message.
    private struct Key {
        var parts: [String]
        var offset: Int

        var shown: String {
            parts.map { part in
                part.utf8.allSatisfy(TOMLParser.isBareKeyByte) && !part.isEmpty ? part : "\"\(Validation.printable(part))\""
            }.joined(separator: ".")
        }
    }

    // MARK: - Entry points

    /// The document, or a VGPUError: "FILE:LINE: what (column N): the source line", and a fix.
    mutating func document(file: String) throws -> TOMLDocument.Table {
        do { return try parse() } catch {
            throw self.error(error, file: file)
        }
    }

    /// The document, or the first syntax error.
    mutating func parse() throws(Failure) -> TOMLDocument.Table {
        if let bad = TOMLScalar.firstInvalidUTF8(bytes) {
            throw Failure(offset: bad, message: "the file is not UTF-8 text (byte 0x\(String(bytes[bad], radix: 16, uppercase: true)))",
                          fix: "save the file as UTF-8: TOML documents are UTF-8")
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        let root = TableBuilder(.header, line: 1)
        var current = root
        while let byte = peek() {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"):
                index += 1
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "#"):
                try endOfLine()
            case UInt8(ascii: "["):
                current = try header(root)
                try endOfLine()
            default:
                try keyValue(into: current)
                try endOfLine()
            }
        }
        return root.table
    }

    // MARK: - Structure

    /// `[a.b]` or `[[a.b]]`: the table that the following keys go to.
    private mutating func header(_ root: TableBuilder) throws(Failure) -> TableBuilder {
        let start = index
        let line = line(at: start)
        index += 1
        let isArray = peek() == UInt8(ascii: "[")
        if isArray { index += 1 }
        skipSpaces()
        guard let first = peek(), Self.isBareKeyByte(first) || first == UInt8(ascii: "\"") || first == UInt8(ascii: "'") else {
            throw Failure(offset: index, message: "a table header without a key",
                          fix: "name the table after '[': [groups.NAME], [gpus.\"0000:17:00.0\"], [[layouts.NAME.entries]]")
        }
        let key = try self.key()
        for _ in 0..<(isArray ? 2 : 1) {
            guard peek() == UInt8(ascii: "]") else {
                let seen = peek().map { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") ? "the end of the line" : "'\(shown(at: index))'" } ?? "the end of the file"
                throw Failure(offset: index, message: "the table header [\(isArray ? "[" : "")\(key.shown) is not closed: \(seen) where '\(isArray ? "]]" : "]")' should be",
                              fix: peek() == UInt8(ascii: ":") || peek() == UInt8(ascii: "/")
                                  ? "quote keys that hold characters other than letters, digits, '_' and '-': [gpus.\"0000:17:00.0\"]"
                                  : "close the table header with '\(isArray ? "]]" : "]")' on the same line: [groups.NAME]")
            }
            index += 1
        }
        var table = root
        for (position, part) in key.parts.enumerated() {
            let isLast = position == key.parts.count - 1
            switch table.items[part] {
            case nil:
                if isLast && isArray {
                    let array = TableArray(line: line)
                    table.add(part, .tables(array))
                    let element = TableBuilder(.header, line: line)
                    array.tables.append(element)
                    return element
                }
                let made = TableBuilder(isLast ? .header : .implicit, line: line)
                table.add(part, .table(made))
                table = made
            case .table(let existing):
                if isLast {
                    guard !isArray else {
                        throw Failure(offset: start, message: "[[\(key.shown)]] makes an array of tables, but \(key.shown) is already a table (line \(existing.line))",
                                      fix: "use [\(key.shown)] for one table, or [[\(key.shown)]] everywhere for an array of tables")
                    }
                    guard existing.origin == .implicit else {
                        let how = existing.origin == .dotted ? "by dotted keys" : "by a header"
                        throw Failure(offset: start, message: "table [\(key.shown)] is defined twice (first \(how) on line \(existing.line))",
                                      fix: "a key or table may be defined once: merge the two tables into one")
                    }
                    existing.origin = .header
                }
                table = existing
            case .tables(let array):
                if isLast {
                    guard isArray else {
                        throw Failure(offset: start, message: "[\(key.shown)] is already an array of tables (line \(array.line))",
                                      fix: "write [[\(key.shown)]] to add a table to the array")
                    }
                    let element = TableBuilder(.header, line: line)
                    array.tables.append(element)
                    return element
                }
                table = array.tables[array.tables.count - 1]
            case .value(let node):
                let name = Key(parts: Array(key.parts[...position]), offset: 0).shown
                throw Failure(offset: start, message: "'\(name)' is already \(node.value.kind) (line \(node.line)), so [\(isArray ? "[" : "")\(key.shown)\(isArray ? "]" : "")] cannot be a table",
                              fix: node.value.kind == "a table"
                                  ? "an inline table is complete as written: add the keys inside its { }, or write it as a [table]"
                                  : "a key or table may be defined once: rename one of them")
            }
        }
        return table
    }

    /// `key = value`, in a table or an inline table.
    private mutating func keyValue(into table: TableBuilder) throws(Failure) {
        let key = try self.key()
        guard peek() == UInt8(ascii: "=") else {
            let seen = peek().map { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") ? "the end of the line" : "'\(shown(at: index))'" } ?? "the end of the file"
            throw Failure(offset: index, message: "\(seen) after the key '\(key.shown)', where '=' should be",
                          fix: peek() == UInt8(ascii: ":") || peek() == UInt8(ascii: "/")
                              ? "quote keys that hold characters other than letters, digits, '_' and '-': \"0000:17:00.0\" = ..."
                              : "write key = value: policy = \"pack\"")
        }
        index += 1
        skipSpaces()
        let line = line(at: key.offset)
        var target = table
        for (position, part) in key.parts.dropLast().enumerated() {
            switch target.items[part] {
            case nil:
                let made = TableBuilder(.dotted, line: line)
                target.add(part, .table(made))
                target = made
            case .table(let existing) where existing.origin == .dotted:
                target = existing
            default:
                let name = Key(parts: Array(key.parts[...position]), offset: 0).shown
                throw Failure(offset: key.offset, message: "'\(name)' is already defined (line \(self.definedLine(target.items[part]!))), so the dotted key '\(key.shown)' cannot add to it",
                              fix: "a key or table may be defined once: add the key under the table's own [header], or inside its { }")
            }
        }
        let last = key.parts[key.parts.count - 1]
        if let existing = target.items[last] {
            throw Failure(offset: key.offset, message: "key '\(key.shown)' is defined twice (first on line \(definedLine(existing)))",
                          fix: "a key or table may be defined once: keep one of them")
        }
        // The dotted key's tables count as nesting for what its value holds.
        depth += key.parts.count - 1
        defer { depth -= key.parts.count - 1 }
        if depth > Self.maximumNesting { try nest() }
        let value = try self.value()
        target.add(last, .value(TOMLDocument.Node(value, line: line)))
    }

    private func definedLine(_ item: Item) -> Int {
        switch item {
        case .value(let node): return node.line
        case .table(let table): return table.line
        case .tables(let array): return array.line
        }
    }

    /// A dotted key: `a`, `"quoted key"`, `'literal'`, `a . "b".c`; ends at the first byte after it that is not a space.
    private mutating func key() throws(Failure) -> Key {
        var key = Key(parts: [], offset: index)
        while true {
            skipSpaces()
            guard let byte = peek() else {
                throw Failure(offset: index, message: "the file ends where a key should be", fix: "write key = value")
            }
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                if bytes[index...].starts(with: [byte, byte, byte]) {
                    throw Failure(offset: index, message: "a multi-line string cannot be a key",
                                  fix: "quote the key with one \" or ' on each side")
                }
                key.parts.append(byte == UInt8(ascii: "\"") ? try basicString() : try literalString())
            } else {
                let start = index
                while let next = peek(), Self.isBareKeyByte(next) { index += 1 }
                guard index > start else {
                    let what = byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") ? "the end of the line" : "'\(shown(at: index))'"
                    throw Failure(offset: index, message: "\(what) where a key should be",
                                  fix: "keys are letters, digits, '_' and '-', or quoted: \"0000:17:00.0\"; values follow '='")
                }
                key.parts.append(String(decoding: bytes[start..<index], as: UTF8.self))
            }
            skipSpaces()
            guard peek() == UInt8(ascii: ".") else { return key }
            guard key.parts.count < Self.maximumNesting else {
                throw Failure(offset: key.offset, message: "a key of more than \(Self.maximumNesting) dotted parts",
                              fix: "use fewer parts")
            }
            index += 1
        }
    }

    // MARK: - Values

    private mutating func value() throws(Failure) -> TOMLDocument.Value {
        guard let byte = peek() else {
            throw Failure(offset: index, message: "the file ends where a value should be",
                          fix: "write a value after '=': a \"string\", a number, true or false, [an, array] or { a = table }")
        }
        switch byte {
        case UInt8(ascii: "\""):
            return .string(bytes[index...].starts(with: [byte, byte, byte]) ? try multiLineBasicString() : try basicString())
        case UInt8(ascii: "'"):
            return .string(bytes[index...].starts(with: [byte, byte, byte]) ? try multiLineLiteralString() : try literalString())
        case UInt8(ascii: "["):
            return try array()
        case UInt8(ascii: "{"):
            return try inlineTable()
        default:
            return try scalar()
        }
    }

    private mutating func nest() throws(Failure) {
        depth += 1
        guard depth <= Self.maximumNesting else {
            throw Failure(offset: index, message: "arrays, inline tables or dotted keys nested deeper than \(Self.maximumNesting) levels",
                          fix: "nest less deeply")
        }
    }

    /// `[ value, value, ]`: over any number of lines, with comments; a trailing comma is allowed.
    private mutating func array() throws(Failure) -> TOMLDocument.Value {
        let start = index
        try nest()
        defer { depth -= 1 }
        index += 1
        var items: [TOMLDocument.Node] = []
        while true {
            try skipBlankLinesAndComments()
            guard let byte = peek() else {
                throw Failure(offset: start, message: "the array that starts here is not closed by the end of the file",
                              fix: "close the string, array, inline table or header that is still open there: add ']'")
            }
            if byte == UInt8(ascii: "]") { index += 1; return .array(items) }
            let line = line(at: index)
            items.append(TOMLDocument.Node(try value(), line: line))
            try skipBlankLinesAndComments()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"): index += 1; return .array(items)
            case nil:
                throw Failure(offset: start, message: "the array that starts here is not closed by the end of the file",
                              fix: "close the string, array, inline table or header that is still open there: add ']'")
            default:
                throw Failure(offset: index, message: "'\(shown(at: index))' after an array item, where ',' or ']' should be",
                              fix: "separate an array's items with commas: [\"a\", \"b\"]")
            }
        }
    }

    /// `{ key = value, key = value }`: on one line, no trailing comma (TOML 1.0).
    private mutating func inlineTable() throws(Failure) -> TOMLDocument.Value {
        let start = index
        try nest()
        defer { depth -= 1 }
        index += 1
        let table = TableBuilder(.dotted, line: line(at: start))
        skipSpaces()
        if peek() == UInt8(ascii: "}") { index += 1; return .table(table.table) }
        while true {
            try keyValue(into: table)
            skipSpaces()
            switch peek() {
            case UInt8(ascii: ","):
                index += 1
                skipSpaces()
                if peek() == UInt8(ascii: "}") {
                    throw Failure(offset: index, message: "an inline table ends with a comma",
                                  fix: "write an inline table on one line, without a trailing comma: { a = 1, b = 2 }; or use a [table]")
                }
            case UInt8(ascii: "}"):
                index += 1
                return .table(table.table)
            case nil:
                throw Failure(offset: start, message: "the inline table that starts here is not closed by the end of the file",
                              fix: "close the string, array, inline table or header that is still open there: add '}'")
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                throw Failure(offset: index, message: "an inline table continues past the end of its line",
                              fix: "write an inline table on one line, without a trailing comma: { a = 1, b = 2 }; or use a [table]")
            default:
                throw Failure(offset: index, message: "'\(shown(at: index))' after a key's value in an inline table, where ',' or '}' should be",
                              fix: "write an inline table on one line, without a trailing comma: { a = 1, b = 2 }; or use a [table]")
            }
        }
    }

    /// true, false, a number or a date-time: the bytes up to what ends a value.
    private mutating func scalar() throws(Failure) -> TOMLDocument.Value {
        let start = index
        while let byte = peek(), !Self.endsValue(byte) { index += 1 }
        // A date-time may separate its date and time with a space: "1979-05-27 07:32:00".
        if index - start == 10, TOMLScalar.isDate(bytes[start..<index]), index + 1 < bytes.count, bytes[index] == UInt8(ascii: " "),
           TOMLScalar.isDigit(bytes[index + 1]) {
            index += 1
            while let byte = peek(), !Self.endsValue(byte) { index += 1 }
        }
        let token = bytes[start..<index]
        if token.isEmpty {
            let seen = peek().map { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") ? "the end of the line" : "'\(shown(at: index))'" } ?? "the end of the file"
            throw Failure(offset: index, message: "\(seen) where a value should be",
                          fix: "write a value: a \"string\", a number, true or false, a date, [an, array] or { a = table }")
        }
        if let control = token.firstIndex(where: { $0 < 0x20 || $0 == 0x7F }) {
            index = control
            try checkNotControl(bytes[control])
        }
        if token.elementsEqual("true".utf8) { return .bool(true) }
        if token.elementsEqual("false".utf8) { return .bool(false) }
        if token.count >= 10 && TOMLScalar.isDate(token.prefix(10)) || token.count >= 3 && token[start + 2] == UInt8(ascii: ":") {
            guard let dateTime = TOMLScalar.dateTime(token) else {
                throw Failure(offset: start, message: "'\(Self.shown(token))' is not a valid TOML date or time",
                              fix: "write 1979-05-27T07:32:00Z, 1979-05-27T07:32:00, 1979-05-27 or 07:32:00 (seconds required; real dates)")
            }
            return .dateTime(dateTime)
        }
        switch TOMLScalar.number(token) {
        case .integer(let value): return .integer(value)
        case .float(let value): return .float(value)
        case .tooLarge:
            throw Failure(offset: start, message: "the integer \(Self.shown(token)) does not fit in 64 bits",
                          fix: "use a smaller integer (at most 9223372036854775807)")
        case nil:
            let text = Self.shown(token)
            let looksNumeric = token.first.map { TOMLScalar.isDigit($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") } ?? false
            throw Failure(offset: start, message: looksNumeric ? "'\(text)' is not a valid TOML number" : "'\(text)' is not a TOML value",
                          fix: looksNumeric
                              ? "integers: 42, -17, 1_000, 0x1F, 0o17, 0b101 (no leading zeros); floats: 3.14, 5e+22, inf, nan"
                              : "write TOML there (strings are quoted: policy = \"pack\"; see the examples in README.md)")
        }
    }

    // MARK: - Strings

    /// `"..."`, with escapes, on one line.
    private mutating func basicString() throws(Failure) -> String {
        let start = index
        index += 1
        var out: [UInt8] = []
        while true {
            guard let byte = peek() else { throw unterminated(start) }
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try escape(into: &out)
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                throw Failure(offset: start, message: "the string that starts here is not closed on its line",
                              fix: "close the string with \" on the same line, or use a multi-line string: \"\"\"...\"\"\"")
            default:
                try checkNotControl(byte)
                out.append(byte)
                index += 1
            }
        }
    }

    /// `"""..."""`: escapes, newlines, and a backslash at the end of a line drops the line break and the
    /// whitespace after it.
    private mutating func multiLineBasicString() throws(Failure) -> String {
        let start = index
        index += 3
        skipFirstNewline()
        var out: [UInt8] = []
        while true {
            guard let byte = peek() else { throw unterminated(start) }
            switch byte {
            case UInt8(ascii: "\""):
                if try closesMultiLine(UInt8(ascii: "\""), into: &out) { return String(decoding: out, as: UTF8.self) }
            case UInt8(ascii: "\\"):
                var after = index + 1
                while after < bytes.count, bytes[after] == UInt8(ascii: " ") || bytes[after] == UInt8(ascii: "\t") { after += 1 }
                if after < bytes.count, bytes[after] == UInt8(ascii: "\n") || bytes[after] == UInt8(ascii: "\r") {
                    index = after
                    while let next = peek(), next == UInt8(ascii: " ") || next == UInt8(ascii: "\t") || next == UInt8(ascii: "\n")
                            || next == UInt8(ascii: "\r") {
                        if next == UInt8(ascii: "\r") { try checkCRLF() }
                        index += 1
                    }
                } else {
                    try escape(into: &out)
                }
            case UInt8(ascii: "\n"):
                out.append(byte)
                index += 1
            case UInt8(ascii: "\r"):
                try checkCRLF()
                index += 1
            default:
                try checkNotControl(byte)
                out.append(byte)
                index += 1
            }
        }
    }

    /// `'...'`: no escapes, one line.
    private mutating func literalString() throws(Failure) -> String {
        let start = index
        index += 1
        let contentStart = index
        while true {
            guard let byte = peek() else { throw unterminated(start) }
            switch byte {
            case UInt8(ascii: "'"):
                index += 1
                return String(decoding: bytes[contentStart..<index - 1], as: UTF8.self)
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                throw Failure(offset: start, message: "the string that starts here is not closed on its line",
                              fix: "close the string with ' on the same line, or use a multi-line string: '''...'''")
            default:
                try checkNotControl(byte)
                index += 1
            }
        }
    }

    /// `'''...'''`: no escapes, newlines kept.
    private mutating func multiLineLiteralString() throws(Failure) -> String {
        let start = index
        index += 3
        skipFirstNewline()
        var out: [UInt8] = []
        while true {
            guard let byte = peek() else { throw unterminated(start) }
            switch byte {
            case UInt8(ascii: "'"):
                if try closesMultiLine(UInt8(ascii: "'"), into: &out) { return String(decoding: out, as: UTF8.self) }
            case UInt8(ascii: "\n"):
                out.append(byte)
                index += 1
            case UInt8(ascii: "\r"):
                try checkCRLF()
                index += 1
            default:
                try checkNotControl(byte)
                out.append(byte)
                index += 1
            }
        }
    }

    /// At a quote in a multi-line string: one or two quotes are content; three or more close the string, the
    /// (at most two) quotes before the last three being content.
    private mutating func closesMultiLine(_ quote: UInt8, into out: inout [UInt8]) throws(Failure) -> Bool {
        var run = 0
        while index + run < bytes.count, bytes[index + run] == quote { run += 1 }
        if run < 3 {
            out.append(contentsOf: repeatElement(quote, count: run))
            index += run
            return false
        }
        guard run <= 5 else {
            throw Failure(offset: index, message: "\(run) quotes in a row in a multi-line string",
                          fix: "at most two quotes may stand before the closing three; escape the others (\\\") or use another kind of string")
        }
        out.append(contentsOf: repeatElement(quote, count: run - 3))
        index += run
        return true
    }

    /// A newline right after the opening quotes of a multi-line string is not part of it.
    private mutating func skipFirstNewline() {
        if peek() == UInt8(ascii: "\n") { index += 1 }
        else if bytes[index...].starts(with: [0x0D, 0x0A]) { index += 2 }
    }

    /// `\b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX`, the backslash at `index`.
    private mutating func escape(into out: inout [UInt8]) throws(Failure) {
        let start = index
        index += 1
        guard let escaped = peek() else { throw unterminated(start) }
        index += 1
        switch escaped {
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "\""): out.append(escaped)
        case UInt8(ascii: "\\"): out.append(escaped)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let count = escaped == UInt8(ascii: "u") ? 4 : 8
            var code: UInt32 = 0
            for _ in 0..<count {
                guard let digit = peek().flatMap(TOMLScalar.hexValue) else {
                    throw Failure(offset: start, message: "\\\(Character(Unicode.Scalar(escaped))) needs \(count) hexadecimal digits",
                                  fix: "write \\u00E9 or \\U0001F600")
                }
                code = code << 4 | UInt32(digit)
                index += 1
            }
            guard let scalar = Unicode.Scalar(code) else {
                throw Failure(offset: start, message: "\(Self.shown(bytes[start..<index])) is not a Unicode scalar value",
                              fix: "escape a code point from U+0000 to U+D7FF or U+E000 to U+10FFFF")
            }
            if refusesNUL, code == 0 {
                throw Failure(offset: start, message: "a string or key holds \\u0000 (NUL)",
                              fix: "remove it: vgpuctl passes names to the kernel and libvirt, where a NUL would cut them short")
            }
            out.append(contentsOf: String(Character(scalar)).utf8)
        default:
            throw Failure(offset: start, message: "\(Self.shown(bytes[start..<index])) is not a TOML escape",
                          fix: "TOML 1.0's escapes are \\\" \\\\ \\b \\t \\n \\f \\r \\uXXXX \\UXXXXXXXX; or use a 'literal string'")
        }
    }

    private func unterminated(_ start: Int) -> Failure {
        Failure(offset: start, message: "the string that starts here is not closed by the end of the file",
                fix: "close the string, array, inline table or header that is still open there")
    }

    /// Tab is the only control character TOML allows as itself (in strings and comments).
    private func checkNotControl(_ byte: UInt8) throws(Failure) {
        if byte < 0x20 && byte != UInt8(ascii: "\t") || byte == 0x7F {
            throw Failure(offset: index, message: "a control character (U+\(Self.hex4(byte)))",
                          fix: byte == 0 ? "remove it: TOML allows no control characters but tab outside strings' escapes"
                                         : "write control characters as escapes (\\t, \\u0001) inside a \"basic string\"")
        }
    }

    private func checkCRLF() throws(Failure) {
        guard index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\n") else {
            throw Failure(offset: index, message: "a carriage return (CR) that does not end a line",
                          fix: "end lines with LF or CR LF, not a lone CR")
        }
    }

    // MARK: - Whitespace, comments, lines

    private mutating func skipSpaces() {
        while let byte = peek(), byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { index += 1 }
    }

    /// `# ...` up to (not including) the end of the line; control characters but tab are refused.
    private mutating func comment() throws(Failure) {
        index += 1
        while let byte = peek(), byte != UInt8(ascii: "\n") {
            if byte == UInt8(ascii: "\r") {
                try checkCRLF()
                return
            }
            try checkNotControl(byte)
            index += 1
        }
    }

    /// Spaces, an optional comment, then the end of the line (or of the file).
    private mutating func endOfLine() throws(Failure) {
        skipSpaces()
        if peek() == UInt8(ascii: "#") { try comment() }
        switch peek() {
        case nil: return
        case UInt8(ascii: "\n"): index += 1
        case UInt8(ascii: "\r"):
            try checkCRLF()
            index += 2
        default:
            throw Failure(offset: index, message: "'\(shown(at: index))' after a value or header, where the line should end",
                          fix: "write one key = value or [header] a line; strings are quoted: policy = \"pack\"")
        }
    }

    /// Inside an array: spaces, newlines and comments.
    private mutating func skipBlankLinesAndComments() throws(Failure) {
        while let byte = peek() {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"): index += 1
            case UInt8(ascii: "\r"): try checkCRLF(); index += 2
            case UInt8(ascii: "#"): try comment()
            default: return
            }
        }
    }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    /// The line (from 1) of a byte offset.
    private mutating func line(at offset: Int) -> Int {
        if offset < lineCursor.offset { lineCursor = (0, 1) }
        var line = lineCursor.line
        for byte in bytes[lineCursor.offset..<min(offset, bytes.count)] where byte == UInt8(ascii: "\n") { line += 1 }
        lineCursor = (min(offset, bytes.count), line)
        return line
    }

    /// The character at `offset`, printable, for messages.
    private func shown(at offset: Int) -> String {
        var end = offset + 1
        while end < bytes.count, end - offset < 4, bytes[end] & 0xC0 == 0x80 { end += 1 }
        return Self.shown(bytes[offset..<end])
    }

    private static func shown(_ bytes: ArraySlice<UInt8>) -> String {
        let text = Validation.printable(String(decoding: bytes, as: UTF8.self))
        return text.count > 40 ? String(text.prefix(40)) + "..." : text
    }

    private static func hex4(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }

    /// "FILE:LINE: message (column C): source line", with the failure's fix.
    private mutating func error(_ failure: Failure, file: String) -> VGPUError {
        let offset = min(failure.offset, bytes.count)
        let line = line(at: offset)
        var lineStart = offset
        while lineStart > 0, bytes[lineStart - 1] != UInt8(ascii: "\n") { lineStart -= 1 }
        var lineEnd = offset
        while lineEnd < bytes.count, bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
        // Columns count characters (not bytes) from 1, the byte-order mark excluded.
        let column = bytes[lineStart..<offset].reduce(1) { $1 & 0xC0 == 0x80 ? $0 : $0 + 1 }
            - (lineStart == 0 && bytes.starts(with: [0xEF, 0xBB, 0xBF]) && offset >= 3 ? 1 : 0)
        // The source line, so the message stands on its own in a journal or a CI log.
        var source = Validation.printable(String(String(decoding: bytes[lineStart..<lineEnd], as: UTF8.self)
            .drop { $0 == "\u{FEFF}" }.trimmingSuffix("\r")))
        if source.count > 100 { source = String(source.prefix(100)) + "..." }
        let sourceText = source.allSatisfy { $0 == " " || $0 == "\t" } ? "" : ": \(source)"
        return VGPUError(.invalidInput, "\(file):\(line): \(failure.message) (column \(column))\(sourceText)", fix: failure.fix)
    }

    // MARK: - Lexical rules

    static func isBareKeyByte(_ byte: UInt8) -> Bool {
        TOMLScalar.isDigit(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }



    /// What ends a bare value: whitespace, a separator, a closing bracket, a comment.
    private static func endsValue(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: ","),
             UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: "#"):
            return true
        default:
            return false
        }
    }
}
