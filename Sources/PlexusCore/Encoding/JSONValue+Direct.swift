import Foundation

/// A direct reader and writer of `JSONValue`: `JSONDecoder` reads a value by trying each
/// type in turn and builds an error for every miss, which made parsing a 64-byte task
/// payload a large share of a task's cost. The reader takes only input whose meaning is
/// plain (no escapes, no fractions or exponents, no duplicate keys, nesting within
/// `maxDepth`); `init(parsing:)` gives anything else to `JSONDecoder`, which decides and
/// words the errors, so a parse always gives what `JSONDecoder` would.
extension JSONValue {
    /// The value of plain JSON text, or nil when the text is not plain (which says nothing
    /// about whether it is valid).
    static func directValue(_ data: Data) -> JSONValue? {
        data.withUnsafeBytes { bytes in
            var reader = DirectJSONReader(bytes: bytes)
            return reader.document()
        }
    }

    /// Compact JSON text for carrying a value between nodes (task payloads and results):
    /// valid JSON of the same value, but not the canonical form (`canonicalData`), whose
    /// key order and number formatting are `JSONEncoder`'s. Values holding a fractional
    /// number are written by `JSONEncoder` (which throws for a non-finite one).
    public func transportData() throws -> Data {
        var output = [UInt8]()
        output.reserveCapacity(64)
        guard Self.write(self, into: &output) else { return try JSONEncoder.compact.encode(self) }
        return Data(output)
    }

    /// Appends the JSON text of `value`; false when it holds a `.number`.
    private static func write(_ value: JSONValue, into output: inout [UInt8]) -> Bool {
        switch value {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let flag): output.append(contentsOf: (flag ? "true" : "false").utf8)
        case .integer(let number): output.append(contentsOf: String(number).utf8)
        case .number: return false
        case .string(let text): writeString(text, into: &output)
        case .array(let values):
            output.append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                guard write(element, into: &output) else { return false }
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                writeString(key, into: &output)
                output.append(UInt8(ascii: ":"))
                // The key comes from the dictionary's own keys.
                guard let member = members[key], write(member, into: &output) else { return false }
            }
            output.append(UInt8(ascii: "}"))
        }
        return true
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func writeString(_ text: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                output.append(contentsOf: [hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0f)]])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}

/// Reads the plain subset of JSON (see `JSONValue.directValue`); nil means "not
/// plain here", never "invalid": the caller then asks `JSONDecoder`.
private struct DirectJSONReader {
    let bytes: UnsafeRawBufferPointer
    var index = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// The whole input as one value, or nil.
    mutating func document() -> JSONValue? {
        guard let value = value(depth: 1) else { return nil }
        skipSpace()
        return index == bytes.count ? value : nil
    }

    private mutating func value(depth: Int) -> JSONValue? {
        guard depth <= JSONValue.maxDepth else { return nil }
        skipSpace()
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "\""): return string().map(JSONValue.string)
        case UInt8(ascii: "{"): return object(depth: depth)
        case UInt8(ascii: "["): return array(depth: depth)
        case UInt8(ascii: "t"): return literal("true", .bool(true))
        case UInt8(ascii: "f"): return literal("false", .bool(false))
        case UInt8(ascii: "n"): return literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return integer()
        default: return nil
        }
    }

    private mutating func object(depth: Int) -> JSONValue? {
        index += 1
        var members: [String: JSONValue] = [:]
        if consume("}") { return .object(members) }
        repeat {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let key = string(), consume(":") else { return nil }
            guard let member = value(depth: depth + 1), members.updateValue(member, forKey: key) == nil else { return nil }
            if consume("}") { return .object(members) }
        } while consume(",")
        return nil
    }

    private mutating func array(depth: Int) -> JSONValue? {
        index += 1
        var values: [JSONValue] = []
        if consume("]") { return .array(values) }
        repeat {
            guard let element = value(depth: depth + 1) else { return nil }
            values.append(element)
            if consume("]") { return .array(values) }
        } while consume(",")
        return nil
    }

    /// Skips white space, then steps over `byte` if it comes next.
    private mutating func consume(_ byte: Unicode.Scalar) -> Bool {
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: byte) else { return false }
        index += 1
        return true
    }

    /// A string without escapes or control characters, as valid UTF-8.
    private mutating func string() -> String? {
        index += 1
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
            index += 1
        }
        return nil
    }

    /// An integer of at most 18 digits (always within Int64), without fraction or exponent.
    private mutating func integer() -> JSONValue? {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        let digitsStart = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        let digits = index - digitsStart
        guard digits >= 1, digits <= 18, digits == 1 || bytes[digitsStart] != UInt8(ascii: "0") else { return nil }
        if index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) { return nil }
        var magnitude: Int64 = 0
        for position in digitsStart..<index { magnitude = magnitude * 10 + Int64(bytes[position] - UInt8(ascii: "0")) }
        return .integer(digitsStart > start ? -magnitude : magnitude)
    }

    private mutating func literal(_ word: StaticString, _ value: JSONValue) -> JSONValue? {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { return nil }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return nil }
        index += count
        return value
    }

    private mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): index += 1
            default: return
            }
        }
    }
}
