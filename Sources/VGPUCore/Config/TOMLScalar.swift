/// How TOML 1.0 writes integers, floats, dates and times, and what UTF-8 it accepts: the byte-level rules
/// TOMLParser applies to a bare value once it has cut it out of the document.
enum TOMLScalar {
    static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(byte - UInt8(ascii: "A")) + 10
        default: return nil
        }
    }

    /// `YYYY-MM-DD` in shape (digits and dashes), not yet checked as a date.
    static func isDate(_ token: ArraySlice<UInt8>) -> Bool {
        guard token.count == 10 else { return false }
        return token.enumerated().allSatisfy { offset, byte in offset == 4 || offset == 7 ? byte == UInt8(ascii: "-") : isDigit(byte) }
    }

    // MARK: - Numbers

    enum Number: Equatable {
        case integer(Int), float(Double), tooLarge
    }

    /// An integer (decimal with an optional sign, or 0x, 0o, 0b without) or a float; nil if it is neither.
    static func number(_ token: ArraySlice<UInt8>) -> Number? {
        var rest = token[...]
        var negative = false
        if let sign = rest.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            negative = sign == UInt8(ascii: "-")
            rest = rest.dropFirst()
        }
        if rest.elementsEqual("inf".utf8) { return .float(negative ? -.infinity : .infinity) }
        if rest.elementsEqual("nan".utf8) { return .float(negative ? -.nan : .nan) }
        if rest.count > 2, rest.first == UInt8(ascii: "0"), token.first == UInt8(ascii: "0") {
            let radix: Int
            switch rest[rest.startIndex + 1] {
            case UInt8(ascii: "x"): radix = 16
            case UInt8(ascii: "o"): radix = 8
            case UInt8(ascii: "b"): radix = 2
            default: radix = 0
            }
            if radix != 0 {
                guard let digits = Self.digits(rest.dropFirst(2), radix: radix), digits.count == rest.count - 2 - underscores(rest) else { return nil }
                var value: UInt64 = 0
                for digit in digits {
                    let (shifted, overflow) = value.multipliedReportingOverflow(by: UInt64(radix))
                    guard !overflow else { return .tooLarge }
                    value = shifted + UInt64(hexValue(digit)!)
                }
                return value <= UInt64(Int.max) ? .integer(Int(value)) : .tooLarge
            }
        }
        // Decimal: an integer part without leading zeros, then an optional fraction and exponent.
        guard let integerPart = Self.digits(rest, radix: 10) else { return nil }
        let integerLength = Self.decimalRunLength(rest)
        if integerPart.count > 1 && integerPart.first == UInt8(ascii: "0") { return nil }
        var position = rest.startIndex + integerLength
        var isFloat = false
        var text = negative ? "-" : ""
        text += String(decoding: integerPart, as: UTF8.self)
        if position < rest.endIndex, rest[position] == UInt8(ascii: ".") {
            let fraction = rest[(position + 1)...]
            guard let digits = Self.digits(fraction, radix: 10) else { return nil }
            text += "." + String(decoding: digits, as: UTF8.self)
            position += 1 + Self.decimalRunLength(fraction)
            isFloat = true
        }
        if position < rest.endIndex, rest[position] == UInt8(ascii: "e") || rest[position] == UInt8(ascii: "E") {
            var exponent = rest[(position + 1)...]
            text += "e"
            if let sign = exponent.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                text += sign == UInt8(ascii: "-") ? "-" : "+"
                exponent = exponent.dropFirst()
            }
            guard let digits = Self.digits(exponent, radix: 10) else { return nil }
            text += String(decoding: digits, as: UTF8.self)
            position = exponent.startIndex + Self.decimalRunLength(exponent)
            isFloat = true
        }
        guard position == rest.endIndex else { return nil }
        if isFloat {
            guard let value = Double(text) else { return nil }
            return .float(value)
        }
        guard let value = Int(text) else { return .tooLarge }
        return .integer(value)
    }

    /// The digits of `d(_?d)*` at the start of `text`, underscores removed; nil if it does not start with a
    /// digit or an underscore is not between two digits.
    private static func digits(_ text: ArraySlice<UInt8>, radix: Int) -> [UInt8]? {
        var digits: [UInt8] = []
        var previousWasDigit = false
        for byte in text {
            if byte == UInt8(ascii: "_") {
                guard previousWasDigit else { return nil }
                previousWasDigit = false
            } else if let value = hexValue(byte), value < radix {
                digits.append(byte)
                previousWasDigit = true
            } else {
                break
            }
        }
        return previousWasDigit ? digits : nil
    }

    /// How many bytes of `text` the leading `d(_?d)*` spans.
    private static func decimalRunLength(_ text: ArraySlice<UInt8>) -> Int {
        var length = 0
        for byte in text {
            guard isDigit(byte) || byte == UInt8(ascii: "_") else { break }
            length += 1
        }
        return length
    }

    private static func underscores(_ text: ArraySlice<UInt8>) -> Int { text.reduce(0) { $1 == UInt8(ascii: "_") ? $0 + 1 : $0 } }

    // MARK: - Dates and times

    /// `YYYY-MM-DD`, `HH:MM:SS[.frac]`, or a date, `T`/`t`/space and a time with an optional `Z` or `±HH:MM`.
    static func dateTime(_ token: ArraySlice<UInt8>) -> TOMLDateTime? {
        let text = Array(token)
        var position = 0
        func number(_ count: Int) -> Int? {
            guard position + count <= text.count else { return nil }
            var value = 0
            for byte in text[position..<position + count] {
                guard isDigit(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            position += count
            return value
        }
        func expect(_ character: Unicode.Scalar) -> Bool {
            guard position < text.count, text[position] == UInt8(ascii: character) else { return false }
            position += 1
            return true
        }
        var result = TOMLDateTime(date: nil, time: nil, offsetMinutes: nil)
        if text.count >= 10, isDate(text[0..<10][...]) {
            guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
                  (1...12).contains(month), (1...TOMLDateTime.days(inMonth: month, of: year)).contains(day) else { return nil }
            result.date = .init(year: year, month: month, day: day)
            if position == text.count { return result }
            guard let separator = text.dropFirst(position).first,
                  separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t") || separator == UInt8(ascii: " ") else { return nil }
            position += 1
        }
        guard let hour = number(2), expect(":"), let minute = number(2), expect(":"), let second = number(2),
              (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second) else { return nil }
        var nanosecond = 0
        if expect(".") {
            let start = position
            var scale = 100_000_000
            while position < text.count, isDigit(text[position]) {
                nanosecond += Int(text[position] - UInt8(ascii: "0")) * scale
                scale /= 10
                position += 1
            }
            guard position > start else { return nil }
        }
        result.time = .init(hour: hour, minute: minute, second: second, nanosecond: nanosecond)
        if position == text.count { return result }
        guard result.date != nil else { return nil }
        if expect("Z") || expect("z") {
            result.offsetMinutes = 0
        } else if let sign = text.dropFirst(position).first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            position += 1
            guard let hours = number(2), expect(":"), let minutes = number(2), (0...23).contains(hours), (0...59).contains(minutes) else { return nil }
            result.offsetMinutes = (hours * 60 + minutes) * (sign == UInt8(ascii: "-") ? -1 : 1)
        } else {
            return nil
        }
        return position == text.count ? result : nil
    }

    // MARK: - UTF-8

    /// The offset of the first byte that is not part of well-formed UTF-8 (no overlong forms, no surrogates,
    /// nothing above U+10FFFF), or nil.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var index = 0
        while index < bytes.count {
            let lead = bytes[index]
            if lead < 0x80 { index += 1; continue }
            let length: Int, lower: UInt8, upper: UInt8
            switch lead {
            case 0xC2...0xDF: (length, lower, upper) = (2, 0x80, 0xBF)
            case 0xE0: (length, lower, upper) = (3, 0xA0, 0xBF)
            case 0xE1...0xEC, 0xEE...0xEF: (length, lower, upper) = (3, 0x80, 0xBF)
            case 0xED: (length, lower, upper) = (3, 0x80, 0x9F)
            case 0xF0: (length, lower, upper) = (4, 0x90, 0xBF)
            case 0xF1...0xF3: (length, lower, upper) = (4, 0x80, 0xBF)
            case 0xF4: (length, lower, upper) = (4, 0x80, 0x8F)
            default: return index
            }
            guard index + length <= bytes.count, (lower...upper).contains(bytes[index + 1]) else { return index }
            for continuation in bytes[(index + 2)..<(index + length)] where continuation & 0xC0 != 0x80 { return index }
            index += length
        }
        return nil
    }
}
