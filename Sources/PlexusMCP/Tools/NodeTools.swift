import Foundation
import MCP
import PlexusCore

extension ToolCatalog {
    /// The node's own state: `status`.
    static let node: [PlexusTool] = [
        PlexusTool(
            definition: tool(
                "status", "Node status",
                "Shows this node's agent id, version, uptime, what its store holds (entries, authors, latest cursor) and its mesh (listen address, connected peers, traffic counters).",
                properties: [:], readOnly: true),
            run: { _, node throws(PlexusError) in try encode(try await node.status()) }),
    ]
}
