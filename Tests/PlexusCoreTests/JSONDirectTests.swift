import Foundation
import PropertyBased
import Testing
@testable import PlexusCore

/// The direct JSON reader and writer (`JSONValue+Direct`) against `JSONDecoder`.
@Suite struct JSONDirectTests {
    @Test func plainTextIsReadDirectlyAndTheRestByJSONDecoder() throws {
        let plain = #" {"a": [1, -20, true, false, null, "x y", "é€😀"], "b": {}, "c": []} "#
        let direct = try #require(JSONValue.directValue(Data(plain.utf8)))
        #expect(direct == (try JSONValue(decoding: Data(plain.utf8))))
        // Not plain: escapes, fractions, exponents, big or zero-led numbers, duplicate keys.
        for text in [#""\u00e9""#, #"{"a": 1.5}"#, "1e3", "12345678901234567890", "012", #"{"a": 1, "a": 2}"#] {
            #expect(JSONValue.directValue(Data(text.utf8)) == nil, "\(text)")
        }
        #expect(try JSONValue(parsing: Data(#""\u00e9""#.utf8)) == .string("é"))
        #expect(try JSONValue(parsing: Data(#"{"a": 1.5}"#.utf8)) == .object(["a": .number(1.5)]))
        #expect(try JSONValue(parsing: Data("1e3".utf8)) == .integer(1000))
        // Invalid text is refused with JSONDecoder's words, whichever reader saw it first.
        for text in ["", #"{"a" 1}"#, "tru", "[1] x", "\u{1}", #""a"#] {
            #expect(throws: PlexusError.self, "\(text)") { try JSONValue(parsing: Data(text.utf8)) }
        }
    }

    /// Random texts near JSON (valid and broken, plain and not): whenever the direct reader
    /// gives a value, `JSONDecoder` gives the same one.
    @Test func theDirectReaderAgreesWithJSONDecoder() async {
        await propertyCheck(count: 400, input: Self.choices) { choices in
            var random = Choices(choices)
            let broken = random.next() % 8 == 0
            var text = ""
            Self.writeRandom(into: &text, depth: 0, random: &random)
            if broken, !text.isEmpty {  // break it somewhere
                text.remove(at: text.index(text.startIndex, offsetBy: Int(random.next() % UInt64(text.count))))
            }
            let data = Data(text.utf8)
            if let direct = JSONValue.directValue(data) {
                #expect((try? JSONValue(decoding: data)) == direct, "\(text)")
            }
        }
    }

    /// Values without fractional numbers written by `transportData` read back the same.
    @Test func transportDataReadsBackTheSameValue() async throws {
        await propertyCheck(count: 300, input: Self.choices) { choices in
            var random = Choices(choices)
            var text = ""
            Self.writeRandom(into: &text, depth: 0, random: &random, plainOnly: true)
            guard let value = try? JSONValue(decoding: Data(text.utf8)) else { return }
            let written = (try? value.transportData()) ?? Data()
            #expect((try? JSONValue(decoding: written)) == value, "\(text)")
        }
        // Fractional numbers go through JSONEncoder, and still read back.
        let fractional = JSONValue.array([.number(0.1), .string("a\"\\\n\u{1}")])
        #expect(try JSONValue(decoding: fractional.transportData()) == fractional)
    }

    /// The choices a text is built from (each drawn in turn; 0 once they run out).
    private static let choices = Gen.int(in: 0...1_000_000).array(of: 1...80)

    private static let strings = [
        #""""#, #""a""#, #""x y z""#, #""é€😀""#, #""\n""#, #""\"q\"""#, #""\u0041""#, #""tab\there""#,
    ]
    private static let plainStrings = [#""""#, #""a""#, #""x y z""#, #""é€😀""#, #""q\"uote""#, #""back\\slash""#, #""\n\u0001""#]
    private static let numbers = ["0", "-0", "7", "-42", "123456789012345678", "1234567890123456789", "1.5", "-2e3", "1E2", "00", "-", "0.0"]
    private static let plainNumbers = ["0", "7", "-42", "123456789012345678", "-9223372036854775807"]
    private static let spaces = ["", " ", "\n", "\t", "\r\n "]

    private static func writeRandom(into text: inout String, depth: Int, random: inout Choices, plainOnly: Bool = false) {
        let space = spaces[Int(random.next() % UInt64(spaces.count))]
        text += space
        switch random.next() % (depth > 5 ? 4 : 6) {
        case 0: text += ["true", "false", "null"][Int(random.next() % 3)]
        case 1:
            let pool = plainOnly ? plainNumbers : numbers
            text += pool[Int(random.next() % UInt64(pool.count))]
        case 2, 3:
            let pool = plainOnly ? plainStrings : strings
            text += pool[Int(random.next() % UInt64(pool.count))]
        case 4:
            text += "["
            for index in 0..<Int(random.next() % 4) {
                if index > 0 { text += "," }
                writeRandom(into: &text, depth: depth + 1, random: &random, plainOnly: plainOnly)
            }
            text += "]"
        default:
            text += "{"
            let keys = ["a", "b", "c", "é"]
            for index in 0..<Int(random.next() % 4) {
                if index > 0 { text += "," }
                let key = keys[Int(random.next() % UInt64(keys.count))]
                text += "\"\(plainOnly ? key + String(index) : key)\":"
                writeRandom(into: &text, depth: depth + 1, random: &random, plainOnly: plainOnly)
            }
            text += "}"
        }
        text += space
    }
}

/// Hands out the generated choices in turn, then zeros (which end the text's nesting).
private struct Choices {
    private let values: [Int]
    private var index = 0

    init(_ values: [Int]) { self.values = values }

    mutating func next() -> UInt64 {
        defer { index += 1 }
        return index < values.count ? UInt64(values[index]) : 0
    }
}
