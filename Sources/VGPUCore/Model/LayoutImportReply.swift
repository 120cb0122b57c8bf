/// What `vgpu-layout-import` prints on standard output, one JSON object: `{"layout": {...}}` when it read the
/// file, `{"error": {"kind", "message", "fix"}}` when it refused it (its exit status is then the error's). vgpuctl
/// runs it as a child, so that only that program links the YAML parser and Foundation; the reply crosses the pipe
/// as this value, and the error comes back as the same typed error, with the same exit code.
///
///     {"layout": {"name": "small", "entries": [{"devices": {"indices": [0, 1]}, "device_filter": ["0x20b510de"],
///                 "vgpus": [{"type": "A100-4C", "count": 8}], "origin": "/etc/nvidia-vgpu-dm/config.yaml:5"}]}}
public struct LayoutImportReply: Codable, Equatable, Sendable {
    public var layout: DeclaredLayout?
    public var error: ErrorReply?

    public struct ErrorReply: Codable, Equatable, Sendable {
        public var kind: VGPUError.Kind
        public var message: String
        public var fix: String
    }

    public init(layout: DeclaredLayout) {
        self.layout = layout
        self.error = nil
    }

    public init(error: VGPUError) {
        self.layout = nil
        self.error = ErrorReply(kind: error.kind, message: error.message, fix: error.fix)
    }

    /// The layout, or the error the reader gave.
    public func get() throws -> DeclaredLayout {
        if let error { throw VGPUError(error.kind, error.message, fix: error.fix) }
        guard let layout else { throw VGPUError(.internalError, "the layout reader answered neither a layout nor an error") }
        return layout
    }
}

extension DeclaredLayout: Codable {
    enum CodingKeys: String, CodingKey { case name, entries }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try container.decode(String.self, forKey: .name),
                  entries: try container.decode([Entry].self, forKey: .entries))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(entries, forKey: .entries)
    }
}

extension DeclaredLayout.Entry: Codable {
    enum CodingKeys: String, CodingKey { case devices, deviceFilter = "device_filter", vgpus, origin }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(gpus: try container.decode(DeclaredLayout.Selector.self, forKey: .devices),
                  deviceFilter: try container.decodeIfPresent([String].self, forKey: .deviceFilter) ?? [],
                  vgpus: try container.decode([DeclaredLayout.TypeCount].self, forKey: .vgpus),
                  origin: try container.decodeIfPresent(String.self, forKey: .origin) ?? "")
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(gpus, forKey: .devices)
        try container.encode(deviceFilter, forKey: .deviceFilter)
        try container.encode(vgpus, forKey: .vgpus)
        try container.encode(origin, forKey: .origin)
    }
}

extension DeclaredLayout.TypeCount: Codable {
    enum CodingKeys: String, CodingKey { case type, count }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(type: try container.decode(String.self, forKey: .type), count: try container.decode(Int.self, forKey: .count))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encode(count, forKey: .count)
    }
}

/// `{"all": true}`, `{"gpus": [ids]}`, `{"group": name}` or `{"indices": [n]}`: exactly one key.
extension DeclaredLayout.Selector: Codable {
    enum CodingKeys: String, CodingKey { case all, gpus, group, indices }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard container.allKeys.count == 1, let key = container.allKeys.first else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "devices needs exactly one of all, gpus, group, indices"))
        }
        switch key {
        case .all:
            guard try container.decode(Bool.self, forKey: .all) else {
                throw DecodingError.dataCorruptedError(forKey: .all, in: container, debugDescription: "all must be true")
            }
            self = .all
        case .gpus: self = .gpus(try container.decode([String].self, forKey: .gpus))
        case .group: self = .group(try container.decode(String.self, forKey: .group))
        case .indices: self = .indices(try container.decode([Int].self, forKey: .indices))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .all: try container.encode(true, forKey: .all)
        case .gpus(let ids): try container.encode(ids, forKey: .gpus)
        case .group(let name): try container.encode(name, forKey: .group)
        case .indices(let indices): try container.encode(indices, forKey: .indices)
        }
    }
}
