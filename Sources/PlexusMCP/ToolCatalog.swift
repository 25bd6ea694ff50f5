import Foundation
import PlexusCore

/// What a model reads about a tool (MCP `Tool`).
struct ToolDefinition: Encodable, Sendable {
    struct Annotations: Encodable, Sendable {
        let title: String
        let readOnlyHint: Bool
        let openWorldHint: Bool
    }

    let name: String
    let title: String
    let description: String
    let inputSchema: JSONValue
    let annotations: Annotations
}

/// One MCP tool: what a model reads about it, and how a call runs against a node.
struct PlexusTool: Sendable {
    let definition: ToolDefinition
    /// Runs the call; the result is a JSON object (compact UTF-8).
    let run: @Sendable (ToolArguments, any NodeService) async throws(PlexusError) -> Data

    /// The argument names the input schema declares.
    var argumentNames: Set<String> {
        Set(definition.inputSchema.objectValue?["properties"]?.objectValue?.keys.map { $0 } ?? [])
    }
}

/// The tools Plexus offers over MCP. Results are the same JSON objects the HTTP API returns
/// under `data` (lists wrapped in an object, as MCP's structured content must be an object).
/// Each feature's tools are in `Tools/<Feature>Tools.swift` (DESIGN §2).
enum ToolCatalog {
    static let all: [PlexusTool] = node + entries + replication + directory + tasks + groups + groupContent + ledger + market + retention + blobs + contacts + direct

    static let byName: [String: PlexusTool] = Dictionary(uniqueKeysWithValues: all.map { ($0.definition.name, $0) })

    // MARK: - Schema helpers

    static func tool(
        _ name: String, _ title: String, _ description: String, properties: [String: JSONValue], required: [String] = [],
        readOnly: Bool
    ) -> ToolDefinition {
        ToolDefinition(
            name: name, title: title, description: description,
            inputSchema: [
                "type": "object", "properties": .object(properties),
                "required": .array(required.map { .string($0) }), "additionalProperties": false,
            ],
            annotations: .init(title: title, readOnlyHint: readOnly, openWorldHint: false))
    }

    static func string(_ description: String) -> JSONValue {
        ["type": "string", "description": .string(description)]
    }

    static func boolean(_ description: String) -> JSONValue {
        ["type": "boolean", "description": .string(description)]
    }

    static func integer(_ description: String, minimum: Int? = nil, maximum: Int? = nil) -> JSONValue {
        var schema: [String: JSONValue] = ["type": "integer", "description": .string(description)]
        if let minimum { schema["minimum"] = .integer(Int64(minimum)) }
        if let maximum { schema["maximum"] = .integer(Int64(maximum)) }
        return .object(schema)
    }

    static func encode(_ value: some Encodable) throws(PlexusError) -> Data {
        do {
            return try JSONEncoder.compact.encode(value)
        } catch {
            throw PlexusError(.internal, "cannot encode the result: \(error)")
        }
    }
}
