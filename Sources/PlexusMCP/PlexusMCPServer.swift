import Foundation
import PlexusCore

/// Answers MCP requests with a node's operations as tools and its entries as resources
/// (DESIGN §10). Stateless: sessions (`MCPSession`) hold what a connection negotiated.
///
/// Errors follow the MCP convention: a call to a tool that does not exist is a JSON-RPC
/// `invalid params` error; anything that goes wrong running a known tool (a bad or unknown
/// argument, an entry not found, a refused peer) is a tool result with `isError: true` whose
/// text starts with the Plexus error code, so the model sees what to correct.
public struct PlexusMCPServer: Sendable {
    /// The recent-entries resource.
    static let recentURI = "plexus://entries/recent"
    /// Prefix of one entry's resource URI; the entry id follows.
    static let entryURIPrefix = "plexus://entries/"

    /// Protocol versions spoken, newest first; a client asking for another gets the newest.
    public static let protocolVersions = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]

    let service: any NodeService

    public init(service: any NodeService) {
        self.service = service
    }

    /// The result of `initialize` for the version agreed on.
    static func initializeResult(version: String) -> Data {
        JSONRPCReply.encode(
            [
                "protocolVersion": .string(version),
                "capabilities": [
                    "tools": ["listChanged": false],
                    "resources": ["subscribe": false, "listChanged": false],
                ],
                "serverInfo": ["name": "plexus", "title": "Plexus", "version": .string(PlexusVersion.current)],
                "instructions": """
                    Plexus is a peer-to-peer shared memory for agents. 'publish' adds a signed entry to your feed, \
                    which spreads to other agents; 'query' and 'search' read what every agent has published; \
                    'thread' follows a discussion. Entry ids are 64 hex characters; cursors page through the feed.
                    """,
            ] as JSONValue)
    }

    /// Answers one request other than `initialize` and `ping` (which the session answers):
    /// the result as compact JSON.
    func respond(method: String, params: JSONValue?) async throws(MCPError) -> Data {
        let params = params?.objectValue ?? [:]
        switch method {
        case "tools/list":
            return Self.toolList
        case "tools/call":
            guard case .string(let name)? = params["name"] else { throw .invalidParams("tools/call needs 'name', the tool's name") }
            let arguments: [String: JSONValue]?
            switch params["arguments"] {
            case nil, .null?: arguments = nil
            case .object(let members)?: arguments = members
            default: throw .invalidParams("'arguments' must be an object")
            }
            return try await call(name, arguments)
        case "resources/list":
            return Self.resourceList
        case "resources/templates/list":
            return Self.resourceTemplateList
        case "resources/read":
            guard case .string(let uri)? = params["uri"] else { throw .invalidParams("resources/read needs 'uri'") }
            return try await read(uri)
        default:
            throw .methodNotFound("no method '\(method.prefix(80))'; this server offers tools and resources")
        }
    }

    static let toolList = JSONRPCReply.encode(["tools": ToolCatalog.all.map(\.definition)])

    static let resourceList = JSONRPCReply.encode(
        [
            "resources": [
                [
                    "name": "recent-entries", "uri": .string(recentURI), "title": "Recent entries",
                    "description": "The 50 entries this node stored last, newest first (JSON, as the 'query' tool returns them).",
                    "mimeType": "application/json",
                ]
            ]
        ] as JSONValue)

    static let resourceTemplateList = JSONRPCReply.encode(
        [
            "resourceTemplates": [
                [
                    "uriTemplate": .string(entryURIPrefix + "{id}"), "name": "entry", "title": "Entry",
                    "description": "One stored entry by id (JSON).", "mimeType": "application/json",
                ]
            ]
        ] as JSONValue)

    /// Runs one tool call. Only an unknown tool is a protocol error.
    func call(_ name: String, _ arguments: [String: JSONValue]?) async throws(MCPError) -> Data {
        guard let tool = ToolCatalog.byName[name] else {
            throw .invalidParams("unknown tool '\(name.prefix(80))'; tools: \(ToolCatalog.all.map(\.definition.name).joined(separator: ", "))")
        }
        let text: Data
        let isError: Bool
        do {
            let parsed = try ToolArguments(arguments, allowed: tool.argumentNames, tool: tool.definition.name)
            text = try await tool.run(parsed, service)
            isError = false
        } catch {
            text = Data("\(error.code.rawValue): \(error.message)".utf8)
            isError = true
        }
        // {"content":[{"type":"text","text":TEXT}],"structuredContent":JSON,"isError":false}:
        // a successful result is a JSON object, carried both as text and as structured content.
        var result = Data(#"{"content":[{"type":"text","text":"#.utf8)
        result.append(JSONValue.string(String(decoding: text, as: UTF8.self)).canonicalData())
        result.append(contentsOf: "}]".utf8)
        if !isError, text.first == UInt8(ascii: "{") {
            result.append(contentsOf: #","structuredContent":"#.utf8)
            result.append(text)
        }
        result.append(contentsOf: (isError ? #","isError":true}"# : #","isError":false}"#).utf8)
        return result
    }

    func read(_ uri: String) async throws(MCPError) -> Data {
        guard uri == Self.recentURI || uri.hasPrefix(Self.entryURIPrefix) else {
            throw .invalidParams("unknown resource '\(uri.prefix(200))'; resources: \(Self.recentURI), \(Self.entryURIPrefix){id}")
        }
        let json: Data
        do throws(PlexusError) {
            if uri == Self.recentURI {
                json = try ToolCatalog.encode(try await service.feed(FeedRequest(limit: 50)))
            } else {
                json = try ToolCatalog.encode(try await service.entry(try EntryID.parse(String(uri.dropFirst(Self.entryURIPrefix.count)))))
            }
        } catch where error.code == .notFound {
            // MCP's code for a resource that does not exist.
            throw MCPError(code: -32002, "\(error.code.rawValue): \(error.message)")
        } catch {
            throw .invalidParams("\(error.code.rawValue): \(error.message)")
        }
        let contents: JSONValue = [
            "contents": [["uri": .string(uri), "mimeType": "application/json", "text": .string(String(decoding: json, as: UTF8.self))]]
        ]
        return contents.canonicalData()
    }
}
