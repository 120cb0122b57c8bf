/// A parsed XML element with namespaces resolved: what every reader of libvirt's XML works on. Only elements
/// and character data survive parsing; comments, processing instructions and the prolog never reach a reader,
/// and CDATA is plain text, so none of them can be mistaken for a device.
public struct XMLNode: Equatable, Sendable {
    /// Equal names, namespaces, attributes, children and text, wherever they were read.
    public static func == (lhs: XMLNode, rhs: XMLNode) -> Bool {
        lhs.name == rhs.name && lhs.namespace == rhs.namespace && lhs.attributes == rhs.attributes && lhs.children == rhs.children && lhs.text == rhs.text
    }

    /// The local name (`hostdev` of `<vgpu:hostdev>`).
    public var name: String
    /// The namespace URI the element is in; nil for no namespace (libvirt's own elements).
    public var namespace: String?
    public var attributes: [XMLAttribute]
    public var children: [XMLNode]
    /// The character data directly inside this element (text and CDATA, entities decoded), in order.
    public var text: String
    /// Where the element lies in the parsed document, from its `<` to the end of its end tag, in UTF-8 bytes
    /// (for `DomainEdits`; not part of equality).
    public var range: Range<Int>?

    public init(name: String, namespace: String? = nil, attributes: [XMLAttribute] = [], children: [XMLNode] = [], text: String = "") {
        self.name = name
        self.namespace = namespace
        self.attributes = attributes
        self.children = children
        self.text = text
    }

    /// The value of an attribute; unprefixed attributes are in no namespace, whatever the element's namespace.
    public func attribute(_ name: String, namespace: String? = nil) -> String? {
        attributes.first { $0.name == name && $0.namespace == namespace }?.value
    }

    /// The child elements with this local name in this namespace (nil: no namespace).
    public func children(_ name: String, namespace: String? = nil) -> [XMLNode] {
        children.filter { $0.name == name && $0.namespace == namespace }
    }

    public func child(_ name: String, namespace: String? = nil) -> XMLNode? {
        children.first { $0.name == name && $0.namespace == namespace }
    }

    /// Follows a path of child names in no namespace: `path("source", "address")`.
    public func path(_ names: String...) -> XMLNode? {
        var node: XMLNode? = self
        for name in names { node = node?.child(name) }
        return node
    }
}

public struct XMLAttribute: Equatable, Sendable {
    public var name: String
    public var namespace: String?
    public var value: String
    /// Where the value's raw text (between the quotes) lies in the parsed document, in UTF-8 bytes: what lets a
    /// writer replace exactly this value and leave every other byte as libvirt wrote it (`XMLEdit`).
    public var valueRange: Range<Int>?

    public init(name: String, namespace: String? = nil, value: String, valueRange: Range<Int>? = nil) {
        self.name = name
        self.namespace = namespace
        self.value = value
        self.valueRange = valueRange
    }

    /// Equal names and values, wherever they were read.
    public static func == (lhs: XMLAttribute, rhs: XMLAttribute) -> Bool {
        lhs.name == rhs.name && lhs.namespace == rhs.namespace && lhs.value == rhs.value
    }
}
