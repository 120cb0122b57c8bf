/// A small, complete reader of well-formed XML 1.0 documents without a DTD: the XML libvirt emits (domain,
/// status, node device and capabilities XML) and what reaches a hook on stdin. It resolves namespaces, decodes
/// the predefined entities and character references, reads CDATA as text, skips comments and processing
/// instructions, and refuses everything else (a DOCTYPE, an undeclared entity or prefix, mismatched tags, a
/// second root) with the line it stopped at. It never fetches, expands or evaluates anything.
///
/// Why not libxml2: every command and the libvirt hook would load it (and, in Debian's build, ICU) at start-up,
/// while this reader costs nothing until called (README, "Reading libvirt's XML").
public struct XMLReader {
    private let bytes: [UInt8]
    private var index = 0
    /// Namespace bindings in scope, innermost last: (prefix, URI); prefix "" is the default namespace.
    private var bindings: [(prefix: String, uri: String)] = [("xml", "http://www.w3.org/XML/1998/namespace")]

    /// Parses `text`; `what` names the document in errors ("the domain XML of web01").
    public static func parse(_ text: String, what: String) throws -> XMLNode {
        var reader = XMLReader(bytes: Array(text.utf8))
        do { return try reader.document() } catch let error as XMLSyntaxError {
            throw VGPUError(.invalidInput, "\(what) is not well-formed XML: line \(reader.line(at: error.offset)): \(error.reason)",
                            fix: "this is not XML libvirt writes; check what produced it")
        }
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    /// The deepest nesting read: libxml2's own limit with XML_PARSE_HUGE (256 without), so every document
    /// libvirt can parse and write back is read. Deeper ones are refused: a tree of XMLNode values is freed
    /// (and compared) recursively, and hundreds of thousands of levels would overflow the stack.
    public static let maximumDepth = 2048

    private struct XMLSyntaxError: Error {
        let offset: Int
        let reason: String
    }

    private func fail(_ reason: String) -> XMLSyntaxError { XMLSyntaxError(offset: index, reason: reason) }

    private func line(at offset: Int) -> Int { 1 + bytes[..<min(offset, bytes.count)].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } }

    // MARK: document structure

    /// An open element while its content is read: the node so far, its raw tag name and how many namespace
    /// bindings it declared (dropped again at its end tag).
    private struct Open {
        var node: XMLNode
        let rawName: String
        let declared: Int
    }

    private mutating func document() throws -> XMLNode {
        if starts(with: [0xEF, 0xBB, 0xBF]) { index += 3 }
        try miscellany(allowDoctype: true)
        guard index < bytes.count, bytes[index] == UInt8(ascii: "<") else { throw fail("no root element") }
        var stack: [Open] = []
        var root: XMLNode?
        while root == nil {
            guard index < bytes.count else { throw fail("the document ends inside <\(stack.last?.rawName ?? "?")>") }
            if bytes[index] != UInt8(ascii: "<") {
                let text = try characterData()
                guard !stack.isEmpty else { throw fail("text outside the root element") }
                stack[stack.count - 1].node.text += text
            } else if starts(with: "</") {
                index += 2
                let name = try self.name()
                skipWhitespace()
                try expect(">")
                guard var open = stack.popLast() else { throw fail("end tag </\(name)> without a start tag") }
                guard open.rawName == name else { throw fail("end tag </\(name)> closes <\(open.rawName)>") }
                open.node.range = open.node.range.map { $0.lowerBound..<index }
                bindings.removeLast(open.declared)
                if stack.isEmpty { root = open.node } else { stack[stack.count - 1].node.children.append(open.node) }
            } else if starts(with: "<!--") {
                try comment()
            } else if starts(with: "<![CDATA[") {
                index += 9
                let end = try find("]]>")
                guard !stack.isEmpty else { throw fail("CDATA outside the root element") }
                stack[stack.count - 1].node.text += String(decoding: bytes[index..<end], as: UTF8.self)
                index = end + 3
            } else if starts(with: "<?") {
                try processingInstruction()
            } else if starts(with: "<!") {
                throw fail("a declaration (<!...) inside the document")
            } else {
                guard stack.count < Self.maximumDepth else { throw fail("elements are nested deeper than \(Self.maximumDepth) levels") }
                let tagStart = index
                var (open, selfClosing) = try startTag()
                open.node.range = tagStart..<index
                if selfClosing {
                    bindings.removeLast(open.declared)
                    if stack.isEmpty { root = open.node } else { stack[stack.count - 1].node.children.append(open.node) }
                } else {
                    stack.append(open)
                }
            }
        }
        try miscellany(allowDoctype: false)
        guard index == bytes.count else { throw fail("content after the root element") }
        return root!
    }

    /// Whitespace, comments and processing instructions before or after the root element.
    private mutating func miscellany(allowDoctype: Bool) throws {
        while true {
            skipWhitespace()
            if starts(with: "<!--") { try comment() } else if starts(with: "<?") { try processingInstruction() } else if starts(with: "<!DOCTYPE") {
                // A DTD could declare entities; libvirt never writes one, so none is read.
                throw fail(allowDoctype ? "a DOCTYPE declaration (not accepted: entities are never expanded)" : "a DOCTYPE after the root")
            } else { return }
        }
    }

    private mutating func comment() throws {
        index += 4
        index = try find("-->") + 3
    }

    private mutating func processingInstruction() throws {
        index += 2
        index = try find("?>") + 2
    }

    // MARK: tags

    private mutating func startTag() throws -> (Open, selfClosing: Bool) {
        index += 1
        let rawName = try name()
        var raw: [(name: String, value: String, range: Range<Int>)] = []
        while true {
            let hadSpace = skipWhitespace()
            guard index < bytes.count else { throw fail("the document ends inside <\(rawName)>") }
            if bytes[index] == UInt8(ascii: ">") || starts(with: "/>") { break }
            guard hadSpace else { throw fail("attributes of <\(rawName)> must be separated by whitespace") }
            let attributeName = try name()
            skipWhitespace()
            try expect("=")
            skipWhitespace()
            let valueStart = index + 1
            let value = try attributeValue()
            guard !raw.contains(where: { $0.name == attributeName }) else { throw fail("attribute \(attributeName) repeated in <\(rawName)>") }
            raw.append((attributeName, value, valueStart..<index - 1))
        }
        let selfClosing = bytes[index] == UInt8(ascii: "/")
        index += selfClosing ? 2 : 1

        // Namespace declarations first: they apply to the element's own name and attributes.
        var declared = 0
        for (attributeName, value, _) in raw {
            if attributeName == "xmlns" { bindings.append(("", value)); declared += 1 }
            else if attributeName.hasPrefix("xmlns:") { bindings.append((String(attributeName.dropFirst(6)), value)); declared += 1 }
        }
        let (prefix, local) = split(rawName)
        var node = XMLNode(name: local, namespace: try namespace(of: prefix, defaultApplies: true, in: rawName))
        var seen = Set<String>()
        for (attributeName, value, range) in raw where attributeName != "xmlns" && !attributeName.hasPrefix("xmlns:") {
            let (attributePrefix, attributeLocal) = split(attributeName)
            let attribute = XMLAttribute(name: attributeLocal, namespace: try namespace(of: attributePrefix, defaultApplies: false, in: attributeName),
                                         value: value, valueRange: range)
            guard seen.insert("\(attribute.namespace ?? "")\u{0}\(attributeLocal)").inserted else {
                throw fail("attribute \(attributeLocal) repeated in <\(rawName)> (through a namespace prefix)")
            }
            node.attributes.append(attribute)
        }
        return (Open(node: node, rawName: rawName, declared: declared), selfClosing)
    }

    private func split(_ qualified: String) -> (prefix: String?, local: String) {
        guard let colon = qualified.firstIndex(of: ":") else { return (nil, qualified) }
        return (String(qualified[..<colon]), String(qualified[qualified.index(after: colon)...]))
    }

    /// The URI a prefix is bound to; unprefixed elements take the default namespace, unprefixed attributes none.
    private func namespace(of prefix: String?, defaultApplies: Bool, in name: String) throws -> String? {
        guard let prefix else {
            guard defaultApplies, let uri = bindings.last(where: { $0.prefix == "" })?.uri, !uri.isEmpty else { return nil }
            return uri
        }
        guard let uri = bindings.last(where: { $0.prefix == prefix })?.uri, !uri.isEmpty else {
            throw fail("namespace prefix '\(prefix)' of \(name) is not declared")
        }
        return uri
    }

    // MARK: lexical pieces

    private mutating func name() throws -> String {
        let start = index
        while index < bytes.count, Self.isNameByte(bytes[index]) { index += 1 }
        guard index > start else { throw fail("a name was expected") }
        let first = bytes[start]
        guard first != UInt8(ascii: "-"), first != UInt8(ascii: "."), !(0x30...0x39).contains(first) else {
            throw fail("a name cannot start with '\(Character(Unicode.Scalar(first)))'")
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    /// Name characters: ASCII letters, digits, `_-.:`, and every non-ASCII byte (names are UTF-8).
    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: ":"), 0x80...0xFF: return true
        default: return false
        }
    }

    private mutating func attributeValue() throws -> String {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "'") || bytes[index] == UInt8(ascii: "\"") else {
            throw fail("an attribute value must be quoted")
        }
        let quote = bytes[index]
        index += 1
        var value: [UInt8] = []
        while true {
            guard index < bytes.count else { throw fail("an attribute value is not closed") }
            let byte = bytes[index]
            if byte == quote { index += 1; return String(decoding: value, as: UTF8.self) }
            if byte == UInt8(ascii: "<") { throw fail("'<' inside an attribute value") }
            if byte == UInt8(ascii: "&") { value += try reference() } else {
                // Attribute-value normalisation: literal tabs and newlines read as spaces.
                value.append(byte == 0x09 || byte == 0x0A || byte == 0x0D ? 0x20 : byte)
                index += 1
            }
        }
    }

    /// Text up to the next `<`, entities decoded.
    private mutating func characterData() throws -> String {
        var text: [UInt8] = []
        while index < bytes.count, bytes[index] != UInt8(ascii: "<") {
            if bytes[index] == UInt8(ascii: "&") { text += try reference() } else { text.append(bytes[index]); index += 1 }
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// `&lt;` `&gt;` `&amp;` `&quot;` `&apos;` `&#N;` `&#xN;`; any other entity is refused (nothing declares one).
    private mutating func reference() throws -> [UInt8] {
        let start = index + 1
        guard let semicolon = bytes[start...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else { throw fail("'&' not followed by a reference") }
        let body = String(decoding: bytes[start..<semicolon], as: UTF8.self)
        index = semicolon + 1
        switch body {
        case "lt": return [UInt8(ascii: "<")]
        case "gt": return [UInt8(ascii: ">")]
        case "amp": return [UInt8(ascii: "&")]
        case "quot": return [UInt8(ascii: "\"")]
        case "apos": return [UInt8(ascii: "'")]
        default:
            let code: UInt32?
            if body.hasPrefix("#x") { code = UInt32(body.dropFirst(2), radix: 16) } else if body.hasPrefix("#") { code = UInt32(body.dropFirst(), radix: 10) } else {
                throw fail("undeclared entity &\(body);")
            }
            guard let code, code != 0, let scalar = Unicode.Scalar(code) else { throw fail("invalid character reference &\(body);") }
            return Array(String(Character(scalar)).utf8)
        }
    }

    // MARK: scanning

    @discardableResult
    private mutating func skipWhitespace() -> Bool {
        let start = index
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        return index > start
    }

    private func starts(with text: String) -> Bool { starts(with: Array(text.utf8)) }

    private func starts(with prefix: [UInt8]) -> Bool {
        guard bytes.count - index >= prefix.count else { return false }
        for offset in 0..<prefix.count where bytes[index + offset] != prefix[offset] { return false }
        return true
    }

    private mutating func expect(_ text: String) throws {
        guard starts(with: text) else { throw fail("'\(text)' was expected") }
        index += text.utf8.count
    }

    /// The offset of the next `terminator` from here; an unterminated construct is an error.
    private func find(_ terminator: String) throws -> Int {
        let pattern = Array(terminator.utf8)
        var position = index
        while position + pattern.count <= bytes.count {
            if bytes[position] == pattern[0], bytes[position..<position + pattern.count].elementsEqual(pattern) { return position }
            position += 1
        }
        throw fail("'\(terminator)' never comes")
    }
}
