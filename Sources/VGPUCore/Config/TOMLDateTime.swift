/// A TOML date-time value as written: an offset date-time (date, time and offset), a local date-time (date and
/// time), a local date or a local time. Fields only, no calendar arithmetic: the config needs none, and VGPUCore
/// stays free of Foundation.
public struct TOMLDateTime: Sendable, Equatable, CustomStringConvertible {
    public struct Date: Sendable, Equatable {
        public var year: Int, month: Int, day: Int
    }

    public struct Time: Sendable, Equatable {
        public var hour: Int, minute: Int, second: Int
        /// Digits beyond nanoseconds are truncated, as TOML 1.0 asks.
        public var nanosecond: Int
    }

    public var date: Date?
    public var time: Time?
    /// Minutes east of UTC (`Z` is 0); nil for local values.
    public var offsetMinutes: Int?

    public init(date: Date?, time: Time?, offsetMinutes: Int?) {
        self.date = date
        self.time = time
        self.offsetMinutes = offsetMinutes
    }

    /// RFC 3339, as toml-test writes values: `1979-05-27T07:32:00.5-07:00`, `07:32:00`, `1979-05-27`.
    public var description: String {
        var text = ""
        if let date { text += "\(Self.padded(date.year, 4))-\(Self.padded(date.month, 2))-\(Self.padded(date.day, 2))" }
        if date != nil, time != nil { text += "T" }
        if let time {
            text += "\(Self.padded(time.hour, 2)):\(Self.padded(time.minute, 2)):\(Self.padded(time.second, 2))"
            if time.nanosecond > 0 {
                var fraction = Self.padded(time.nanosecond, 9)
                while fraction.hasSuffix("0") { fraction.removeLast() }
                text += "." + fraction
            }
        }
        if let offsetMinutes {
            if offsetMinutes == 0 { text += "Z" } else {
                let magnitude = abs(offsetMinutes)
                text += (offsetMinutes < 0 ? "-" : "+") + "\(Self.padded(magnitude / 60, 2)):\(Self.padded(magnitude % 60, 2))"
            }
        }
        return text
    }

    private static func padded(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    static func isLeapYear(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func days(inMonth month: Int, of year: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
