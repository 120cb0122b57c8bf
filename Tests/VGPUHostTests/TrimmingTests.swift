import Testing
@testable import VGPUHost

/// The sysfs reader's trimming was made faster (an ASCII fast path, walking in from the ends); these pin that it
/// still gives exactly what the original, plainly written rules gave, on ASCII and on awkward Unicode.
@Suite struct TrimmingTests {
    static let samples = [
        "", " ", "\n", "a", "4\n", "  nvidia-22 \t\r\n", "\r\n", "a\r\n", "x\u{0B}\u{0C}", "name with  spaces \n",
        "é\n", "e\u{301} \n", " \u{301}", "\u{600} ", "\u{600}\t", "a\u{A0}", "a\u{2028}", "a\u{3000}\n", "🚀 \n",
        " \t1414 : NVIDIA H200X-1-18C\t ", "\t\t", "a \u{301}",
    ]

    @Test func trailingWhitespaceMatchesTheUnicodeRule() {
        for text in Self.samples {
            var end = text.endIndex
            while end > text.startIndex, let last = text[text.index(before: end)].unicodeScalars.first, last.properties.isWhitespace {
                end = text.index(before: end)
            }
            #expect(text.trimmingTrailingWhitespace == String(text[..<end]), "\(Array(text.unicodeScalars))")
        }
    }

    @Test func trimmingCharactersMatchesDropWhileOnBothEnds() {
        for text in Self.samples {
            let drop = Set(" \t")
            let expected = String(text.drop(while: { drop.contains($0) }).reversed().drop(while: { drop.contains($0) }).reversed())
            #expect(text.trimmingCharacters(in: " \t") == expected, "\(Array(text.unicodeScalars))")
            #expect(text[...].trimmingCharacters(in: " \t") == expected)
        }
    }
}
