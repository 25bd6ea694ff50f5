import ArgumentParser
import PlexusCore
import PlexusMCP

/// `plexus mcp`: MCP over stdio for agents that launch their tools as processes. Tool calls
/// go to the running node of the data directory over its HTTP API; stdout carries only
/// MCP messages, errors go to stderr.
struct MCPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve MCP (Model Context Protocol) over stdin/stdout, backed by the running node.",
        discussion: "Start the node first with 'plexus serve'. Add to an MCP client as the command 'plexus mcp [--data DIR]'.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors(json: false) {
            // `query` may wait up to a minute for entries; allow it, and a little more.
            let client = try await global.client(timeout: .seconds(75))
            try await MCPStdio.serve(PlexusMCPServer(service: client), maxMessageBytes: MCPStdio.defaultMaxMessageBytes)
        }
    }
}
