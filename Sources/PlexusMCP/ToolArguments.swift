import Foundation
import PlexusCore

/// A tool call's arguments, read with the tool's schema in mind: unknown names and wrong
/// types are `invalidArgument` errors naming the argument, so a model can correct its call.
struct ToolArguments {
    private let values: [String: JSONValue]

    /// Refuses any argument not in `allowed`.
    init(_ values: [String: JSONValue]?, allowed: Set<String>, tool: String) throws(PlexusError) {
        let values = values ?? [:]
        if let unknown = values.keys.sorted().first(where: { !allowed.contains($0) }) {
            let choices = allowed.isEmpty ? "it takes no arguments" : "allowed: \(allowed.sorted().joined(separator: ", "))"
            throw PlexusError(.invalidArgument, "unknown argument '\(unknown)' for \(tool); \(choices)")
        }
        self.values = values
    }

    /// The arguments as one JSON object, for requests that read their own fields.
    var json: JSONValue { .object(values) }

    /// The arguments by name, for requests that read their own fields.
    var fields: [String: JSONValue] { values }

    func string(_ name: String) throws(PlexusError) -> String? {
        switch values[name] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        case let other?: throw PlexusError(.invalidArgument, "'\(name)' must be a string, not \(Self.kind(other))")
        }
    }

    /// An array of strings; nil when absent.
    func strings(_ name: String) throws(PlexusError) -> [String]? {
        switch values[name] {
        case nil, .null?: return nil
        case .array(let items)?:
            return try items.map { item throws(PlexusError) in
                guard case .string(let text) = item else { throw PlexusError(.invalidArgument, "'\(name)' must hold strings only") }
                return text
            }
        case let other?: throw PlexusError(.invalidArgument, "'\(name)' must be an array of strings, not \(Self.kind(other))")
        }
    }

    func requiredString(_ name: String) throws(PlexusError) -> String {
        guard let text = try string(name), !text.isEmpty else {
            throw PlexusError(.invalidArgument, "missing argument '\(name)'")
        }
        return text
    }

    /// Integers, also when a client sends them as whole doubles (JSON has one number type).
    func int(_ name: String) throws(PlexusError) -> Int? {
        switch values[name] {
        case nil, .null?: return nil
        case .integer(let number)?: return Int(number)
        case .number(let number)? where number.rounded() == number && abs(number) < 9e15: return Int(number)
        case let other?: throw PlexusError(.invalidArgument, "'\(name)' must be an integer, not \(Self.kind(other))")
        }
    }

    func bool(_ name: String) throws(PlexusError) -> Bool? {
        switch values[name] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        case let other?: throw PlexusError(.invalidArgument, "'\(name)' must be a boolean, not \(Self.kind(other))")
        }
    }

    /// A time in ms since the epoch (non-negative).
    func timeMs(_ name: String) throws(PlexusError) -> Int64? {
        guard let number = try int(name) else { return nil }
        guard number >= 0 else { throw PlexusError(.invalidArgument, "'\(name)' must be a time in ms since the epoch (non-negative)") }
        return Int64(number)
    }

    func cursor(_ name: String) throws(PlexusError) -> Int64? {
        guard let number = try int(name) else { return nil }
        guard number >= 0 else { throw PlexusError(.invalidArgument, "'\(name)' must be a cursor (a non-negative integer)") }
        return Int64(number)
    }

    func agentID(_ name: String) throws(PlexusError) -> AgentID? {
        try string(name).map { text throws(PlexusError) in try AgentID.parse(text) }
    }

    func entryID(_ name: String) throws(PlexusError) -> EntryID? {
        try string(name).map { text throws(PlexusError) in try EntryID.parse(text) }
    }

    private static func kind(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
