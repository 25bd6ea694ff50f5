import Foundation

/// Any JSON value. Entry content is a JSON object of this; the API passes it through
/// unchanged in meaning, and search indexes its string values.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The deepest nesting accepted when parsing, so hostile input cannot exhaust the stack.
    public static let maxDepth = 64

    /// Parses UTF-8 JSON text (plain text directly, the rest with `JSONDecoder`).
    public init(parsing data: Data) throws(PlexusError) {
        if let value = Self.directValue(data) {
            self = value
        } else {
            try self.init(decoding: data)
        }
    }

    /// Parses UTF-8 JSON text with `JSONDecoder`.
    init(decoding data: Data) throws(PlexusError) {
        do {
            self = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw PlexusError(.invalidJSON, "not valid JSON: \(Self.describe(error))")
        }
        guard depth <= Self.maxDepth else {
            throw PlexusError(.invalidJSON, "JSON nests deeper than \(Self.maxDepth) levels")
        }
    }

    /// Compact JSON text with sorted keys: the same value always gives the same bytes.
    public func canonicalData() -> Data {
        // A JSONValue holds only encodable JSON; non-finite doubles cannot be parsed into one.
        (try? JSONEncoder.compact.encode(self)) ?? Data("null".utf8)
    }

    /// Every string in the value (object keys excluded), depth first: what search indexes.
    public func strings() -> [String] {
        var output: [String] = []
        collectStrings(into: &output)
        return output
    }

    private func collectStrings(into output: inout [String]) {
        switch self {
        case .string(let text): output.append(text)
        case .array(let values): for value in values { value.collectStrings(into: &output) }
        case .object(let members):
            for (_, value) in members.sorted(by: { $0.key < $1.key }) { value.collectStrings(into: &output) }
        case .null, .bool, .integer, .number: break
        }
    }

    /// The object's members, or nil if this is not an object.
    public var objectValue: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    private var depth: Int {
        switch self {
        case .array(let values): 1 + (values.map(\.depth).max() ?? 0)
        case .object(let members): 1 + (members.values.map(\.depth).max() ?? 0)
        default: 0
        }
    }

    /// A short account of a decoding error for people: what was wrong, and where.
    public static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context):
            context.underlyingError.map { "\($0.localizedDescription)" } ?? context.debugDescription
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "\(context.debugDescription) at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.keyNotFound(let key, _):
            "missing field '\(key.stringValue)'"
        default:
            "\(error)"
        }
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

/// Literals, so schemas and fixed documents read as JSON in code.
extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
