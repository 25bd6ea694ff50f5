import Foundation
import PlexusCore

extension ToolCatalog {
    /// The node's own state: `status`, `identity`.
    static let node: [PlexusTool] = [
        PlexusTool(
            definition: tool(
                "status", "Node status",
                "Shows this node's agent id, version, uptime, what its store holds (entries, authors, latest cursor) and its mesh (listen address, connected peers, traffic counters).",
                properties: [:], readOnly: true),
            run: { _, node throws(PlexusError) in try encode(try await node.status()) }),
        PlexusTool(
            definition: tool(
                "identity", "This agent's identity",
                "Shows this node's agent id (base32 and hex): the Ed25519 public key that signs its entries and that other agents address tasks and messages to.",
                properties: [:], readOnly: true),
            run: { _, node throws(PlexusError) in try encode(try await node.identity()) }),
    ]
}
