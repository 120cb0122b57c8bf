/// A vGPU's UUID in canonical form (lower-case 8-4-4-4-12 hex), the name the kernel, mdevctl and libvirt use.
public struct DeviceUUID: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public let text: String

    /// Accepts any case; refuses anything that is not exactly 36 characters of 8-4-4-4-12 hex.
    public init(parsing raw: String) throws {
        let lower = raw.lowercased()
        let bytes = Array(lower.utf8)
        let dashes: Set<Int> = [8, 13, 18, 23]
        let isCanonical = bytes.count == 36 && bytes.enumerated().allSatisfy { index, byte in
            dashes.contains(index) ? byte == UInt8(ascii: "-") : Self.isHexDigit(byte)
        }
        guard isCanonical else {
            throw VGPUError(.invalidInput, "'\(Validation.printable(raw))' is not a UUID",
                            fix: "give a UUID like 0b1e5c4e-2d4a-4b8e-9b3e-5a1c2d3e4f50, or omit --uuid to have one generated")
        }
        text = lower
    }

    public init(from decoder: Decoder) throws {
        try self.init(parsing: decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }

    public var description: String { text }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.text < rhs.text }

    /// True for names in a directory listing that look like a UUID (mdev device directories).
    public static func looksLikeUUID(_ name: String) -> Bool { (try? DeviceUUID(parsing: name)) != nil }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}
