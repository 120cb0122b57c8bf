/// A minimal template language for libvirt XML: `{{name}}` is replaced by the XML-escaped value, and
/// `{{#name}}…{{/name}}` is kept only when `name` has a value. A placeholder without a value is an error, so
/// a template and its caller cannot silently drift apart.
public struct Template: Sendable {
    public let name: String
    public let text: String

    public init(name: String, text: String) {
        self.name = name
        self.text = text
    }

    public func render(_ values: [String: String]) throws -> String {
        var output = ""
        var rest = Substring(text)
        while let open = rest.firstRange(of: "{{") {
            output += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstRange(of: "}}") else {
                throw VGPUError(.internalError, "template \(name): '{{' without '}}'")
            }
            let tag = String(rest[open.upperBound..<close.lowerBound])
            rest = rest[close.upperBound...]
            if tag.hasPrefix("#") {
                let key = String(tag.dropFirst())
                guard let end = rest.firstRange(of: "{{/\(key)}}") else {
                    throw VGPUError(.internalError, "template \(name): section {{#\(key)}} is not closed")
                }
                if let value = values[key], !value.isEmpty {
                    output += try Template(name: name, text: String(rest[..<end.lowerBound])).render(values)
                }
                rest = rest[end.upperBound...]
            } else {
                guard let value = values[tag] else {
                    throw VGPUError(.internalError, "template \(name): no value for {{\(tag)}}")
                }
                output += XMLEscape.escape(value)
            }
        }
        return output + rest
    }
}

public enum XMLEscape {
    /// Escapes the five XML special characters; valid in element text and in either kind of quoted attribute.
    public static func escape(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for character in value {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "'": out += "&apos;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }
}
