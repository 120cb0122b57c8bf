/// Plain aligned columns for human output; the last column is never padded.
public struct Table {
    public let headers: [String]
    public private(set) var rows: [[String]] = []

    public init(_ headers: String...) { self.headers = headers }

    public mutating func add(_ cells: String...) { rows.append(cells) }

    /// Plain loops: the generic `joined(separator:)` costs runtime type lookups that show in a short command.
    public func render() -> String {
        let all = [headers] + rows
        var widths = [Int](repeating: 0, count: headers.count)
        for column in headers.indices {
            for row in all { widths[column] = max(widths[column], row[column].count) }
        }
        var text = ""
        for (index, row) in all.enumerated() {
            if index > 0 { text += "\n" }
            for column in row.indices {
                if column > 0 { text += "  " }
                text += column == row.count - 1 ? row[column] : row[column].padding(to: widths[column])
            }
        }
        return text
    }
}

extension String {
    func padding(to width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
