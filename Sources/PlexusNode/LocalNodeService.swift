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

    public func publish(_ request: PublishRequest) async throws(PlexusError) -> EntryView {
        try await node.publish(request).view
    }

    public func feed(_ request: FeedRequest) async throws(PlexusError) -> EntryPage {
        let waitMs = request.waitMs ?? 0
        guard (0...FeedRequest.maxWaitMs).contains(waitMs) else {
            throw PlexusError(.invalidArgument, "wait_ms must be between 0 and \(FeedRequest.maxWaitMs)")
        }
        let query = FeedQuery(
            author: request.author, topic: request.topic, type: request.type, tag: request.tag, ref: request.ref,
            since: request.since, before: request.before, limit: request.limit ?? FeedQuery.defaultLimit)
        let page = try await node.feed(query, wait: .milliseconds(waitMs))
        return EntryPage(entries: page.entries.map(\.view), nextCursor: page.nextCursor, hasMore: page.hasMore)
    }

    public func entry(_ id: EntryID) async throws(PlexusError) -> EntryView {
        try await node.entry(id).view
    }

    public func thread(_ id: EntryID, limit: Int?) async throws(PlexusError) -> EntryPage {
        _ = try await node.entry(id)
        let members = try await node.store.thread(id, limit: limit ?? 200)
        return EntryPage(entries: members.map(\.view), nextCursor: nil, hasMore: false)
    }

    public func search(_ request: SearchRequest) async throws(PlexusError) -> SearchResults {
        let query = SearchQuery(
            request.text, author: request.author, topic: request.topic, type: request.type, tag: request.tag,
            limit: request.limit ?? 20, offset: request.offset ?? 0)
        let hits = try await node.search(query)
        return SearchResults(query: request.text, hits: hits.map { .init(entry: $0.entry.view, rank: $0.rank) })
    }

    public func forks(limit: Int?) async throws(PlexusError) -> [ForkView] {
        let limit = limit ?? 100
        guard (1...1000).contains(limit) else { throw PlexusError(.invalidArgument, "limit must be between 1 and 1000") }
        return try await node.store.forks(limit: limit).map { proof in
            ForkView(
                author: proof.author, seq: proof.seq, heldID: proof.held.id, conflictingID: proof.conflicting.id,
                heldEntry: proof.held.encoded(), conflictingEntry: proof.conflicting.encoded(), detectedMs: proof.detectedMs)
        }
    }

    public func peers() async throws(PlexusError) -> [PeerView] {
        await node.peers()
    }

    public func connect(_ request: ConnectRequest) async throws(PlexusError) -> PeerView {
        try await node.connect(request.address, expected: request.id)
    }

    public func removePeer(_ peer: String) async throws(PlexusError) -> PeerRemoval {
        try await node.removePeer(peer)
    }

    public func topics() async throws(PlexusError) -> [TopicView] {
        try await node.topics()
    }

    public func subscribe(_ topic: String) async throws(PlexusError) -> [TopicView] {
        try await node.subscribe(topic)
        return try await node.topics()
    }

    public func unsubscribe(_ topic: String) async throws(PlexusError) -> [TopicView] {
        guard try await node.unsubscribe(topic) else {
            throw PlexusError(.notFound, "this node is not subscribed to '\(topic)'")
        }
        return try await node.topics()
    }

    public func follows() async throws(PlexusError) -> FollowsView {
        try await node.follows()
    }

    public func follow(_ author: AgentID) async throws(PlexusError) -> FollowsView {
        try await node.follow(author)
        return try await node.follows()
    }

    public func unfollow(_ author: AgentID) async throws(PlexusError) -> FollowsView {
        guard try await node.unfollow(author) else {
            throw PlexusError(.notFound, "this node does not follow \(author)")
        }
        return try await node.follows()
    }

    public func sync() async throws(PlexusError) -> [SyncView] {
        await node.sync()
    }

    public func agents(_ query: AgentQuery) async throws(PlexusError) -> [AgentView] {
        try await node.agents(query)
    }

    public func agent(_ id: AgentID) async throws(PlexusError) -> AgentView {
        try await node.agent(id)
    }

    public func sendTask(_ request: SendTaskRequest) async throws(PlexusError) -> TaskView {
        try await node.sendTask(request)
    }

    public func tasks(limit: Int) async throws(PlexusError) -> [TaskView] {
        await node.sentTasks(limit: limit)
    }

    public func task(_ id: TaskID, waitMs: Int) async throws(PlexusError) -> TaskView {
        guard (0...FeedRequest.maxWaitMs).contains(waitMs) else {
            throw PlexusError(.invalidArgument, "wait_ms must be between 0 and \(FeedRequest.maxWaitMs)")
        }
        return try await node.task(id, wait: .milliseconds(waitMs))
    }

    public func cancelTask(_ id: TaskID) async throws(PlexusError) -> TaskView {
        try await node.cancelTask(id)
    }

    public func nextTask(capability: String, waitMs: Int, leaseMs: Int) async throws(PlexusError) -> TaskView? {
        guard (0...FeedRequest.maxWaitMs).contains(waitMs) else {
            throw PlexusError(.invalidArgument, "wait_ms must be between 0 and \(FeedRequest.maxWaitMs)")
        }
        return try await node.nextTask(capability: capability, wait: .milliseconds(waitMs), lease: .milliseconds(leaseMs))
    }

    public func taskProgress(_ id: TaskID, message: String) async throws(PlexusError) -> TaskView {
        try await node.taskProgress(id, message: message)
    }

    public func finishTask(_ id: TaskID, with outcome: TaskResultRequest) async throws(PlexusError) -> TaskView {
        try await node.finishTask(id, with: outcome)
    }
}
