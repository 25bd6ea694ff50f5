/// The operations a node offers agents, in the shapes the HTTP API returns. Two things
/// implement it: the node itself (in-process, for the HTTP routes and MCP over HTTP) and
/// the HTTP client of a running node (for `plexus mcp` over stdio and other tools), so an
/// interface written against it works either way (DESIGN §10). It is the sum of the
/// per-feature protocols (DESIGN §2): `NodeInfoService`, `EntryService`, `ReplicationService`,
/// `DirectoryService`, `TaskService`, `GroupService`, `GroupContentService`, `LedgerService`,
/// `MarketService`, `RetentionService`, `BlobService`, `ContactService` and `DirectService`.
public protocol NodeService: NodeInfoService, EntryService, ReplicationService, DirectoryService, TaskService, GroupService,
    GroupContentService, LedgerService, MarketService, RetentionService, BlobService, ContactService, DirectService {}

/// What a node is: its status and identity.
public protocol NodeInfoService: Sendable {
    /// What the node is and holds.
    func status() async throws(PlexusError) -> NodeStatus
    /// The node's agent id.
    func identity() async throws(PlexusError) -> IdentityView
}
