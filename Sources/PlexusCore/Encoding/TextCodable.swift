/// A value whose JSON form is its text form (ids): encoded as `description`, decoded
/// with its failable text initializer.
public protocol TextCodable: Codable, CustomStringConvertible {
    /// Parses the text form; nil if malformed.
    init?(_ text: some StringProtocol)
}

extension TextCodable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a valid \(Self.self): \(text.prefix(80))"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
