import Foundation
import Logging
import MCP
import PlexusCore

/// Builds MCP servers that expose a node's operations as tools (DESIGN §10): one server
/// per MCP session, over whichever transport carries it (Streamable HTTP or stdio).
///
/// Errors follow the MCP convention: a call to a tool that does not exist is a JSON-RPC
/// `invalid params` error; anything that goes wrong running a known tool (a bad or unknown
/// argument, an entry not found, a refused peer) is a tool result with `isError: true` whose
/// text starts with the Plexus error code, so the model sees what to correct.
public enum PlexusMCPServer {
    /// The recent-entries resource.
    static let recentURI = "plexus://entries/recent"
    /// Prefix of one entry's resource URI; the entry id follows.
    static let entryURIPrefix = "plexus://entries/"

    /// A server with Plexus's tools and entry resources, not yet started.
    public static func make(service: any NodeService) async -> Server {
        let server = Server(
            name: "plexus", version: PlexusVersion.current, title: "Plexus",
            instructions: """
                Plexus is a peer-to-peer shared memory for agents. 'publish' adds a signed entry to your feed, \
                which spreads to other agents; 'query' and 'search' read what every agent has published; \
                'thread' follows a discussion. Entry ids are 64 hex characters; cursors page through the feed.
                """,
            capabilities: .init(resources: .init(subscribe: false, listChanged: false), tools: .init(listChanged: false)))
        await server.withMethodHandler(ListTools.self) { _ in
            ListTools.Result(tools: ToolCatalog.all.map(\.definition))
        }
        await server.withMethodHandler(CallTool.self) { parameters in
            try await call(parameters, on: service)
        }
        await server.withMethodHandler(ListResources.self) { _ in
            ListResources.Result(resources: [
                Resource(
                    name: "recent-entries", uri: recentURI, title: "Recent entries",
                    description: "The 50 entries this node stored last, newest first (JSON, as the 'query' tool returns them).",
                    mimeType: "application/json")
            ])
        }
        await server.withMethodHandler(ListResourceTemplates.self) { _ in
            ListResourceTemplates.Result(templates: [
                Resource.Template(
                    uriTemplate: entryURIPrefix + "{id}", name: "entry", title: "Entry",
                    description: "One stored entry by id (JSON).", mimeType: "application/json")
            ])
        }
        await server.withMethodHandler(ReadResource.self) { parameters in
            try await read(parameters.uri, on: service)
        }
        return server
    }

    /// Runs one tool call. Only an unknown tool is a protocol error.
    static func call(_ parameters: CallTool.Parameters, on service: any NodeService) async throws -> CallTool.Result {
        guard let tool = ToolCatalog.byName[parameters.name] else {
            throw MCPError.invalidParams(
                "unknown tool '\(parameters.name)'; tools: \(ToolCatalog.all.map(\.definition.name).joined(separator: ", "))")
        }
        do {
            let arguments = try ToolArguments(parameters.arguments, allowed: tool.argumentNames, tool: tool.definition.name)
            let json = try await tool.run(arguments, service)
            let structured = try? JSONDecoder().decode(Value.self, from: json)
            return CallTool.Result(content: [.text(text: String(decoding: json, as: UTF8.self), annotations: nil, _meta: nil)], structuredContent: structured, isError: false)
        } catch {
            return CallTool.Result(content: [.text(text: "\(error.code.rawValue): \(error.message)", annotations: nil, _meta: nil)], isError: true)
        }
    }

    static func read(_ uri: String, on service: any NodeService) async throws -> ReadResource.Result {
        let json: Data
        do {
            if uri == recentURI {
                json = try JSONEncoder.compact.encode(try await service.feed(FeedRequest(limit: 50)))
            } else if uri.hasPrefix(entryURIPrefix) {
                let id = try EntryID.parse(String(uri.dropFirst(entryURIPrefix.count)))
                json = try JSONEncoder.compact.encode(try await service.entry(id))
            } else {
                throw MCPError.invalidParams("unknown resource '\(uri)'; resources: \(recentURI), \(entryURIPrefix){id}")
            }
        } catch let error as PlexusError {
            throw MCPError.invalidParams("\(error.code.rawValue): \(error.message)")
        }
        return ReadResource.Result(contents: [.text(String(decoding: json, as: UTF8.self), uri: uri, mimeType: "application/json")])
    }
}
