import PlexusCore
import PlexusStore

/// A node's operations in the shapes the interfaces return (`NodeService`), run in-process.
/// The HTTP routes and MCP over HTTP both go through it, so they cannot disagree.
public struct LocalNodeService: NodeService {
    public let node: Node

    public init(node: Node) {
        self.node = node
    }

    public func status() async throws(PlexusError) -> NodeStatus {
        try await node.status()
    }

    public func identity() async throws(PlexusError) -> IdentityView {
        IdentityView(agentID: node.id, keysEncrypted: node.keysEncrypted)
    }
}
