import Foundation

/// A task payload or result carried as a blob (PROTOCOL.md §15): `{"blob": {"id": "<64 hex>",
/// "size": n, "name"?: "…"}}`, possibly beside other members. Workers and callers that see
/// one fetch the bytes instead of reading the value inline.
public struct BlobReference: Sendable, Equatable {
    public var id: BlobID
    public var size: UInt64?
    public var name: String?

    public init(id: BlobID, size: UInt64?, name: String? = nil) {
        self.id = id
        self.size = size
        self.name = name
    }

    /// The reference a value carries, nil when it carries none.
    public init?(in value: JSONValue?) {
        guard case .object(let members)? = value, case .object(let blob)? = members["blob"],
              case .string(let text)? = blob["id"], let id = BlobID(text)
        else { return nil }
        self.id = id
        if case .integer(let size)? = blob["size"], size >= 0 { self.size = UInt64(size) }
        if case .string(let name)? = blob["name"] { self.name = name }
    }

    /// `{"id", "size", "name"}`.
    public var json: JSONValue {
        var fields: [String: JSONValue] = ["id": .string(id.hex)]
        if let size { fields["size"] = .integer(Int64(clamping: size)) }
        if let name { fields["name"] = .string(name) }
        return .object(fields)
    }

    /// `value` with this reference under `blob`: an object gains the member; anything else
    /// goes under `input` beside it.
    public func attached(to value: JSONValue?) -> JSONValue {
        switch value {
        case .object(var members)?:
            members["blob"] = json
            return .object(members)
        case nil, .null?:
            return .object(["blob": json])
        case let other?:
            return .object(["blob": json, "input": other])
        }
    }
}
