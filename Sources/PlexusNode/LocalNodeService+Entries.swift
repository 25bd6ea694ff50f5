import PlexusCore
import PlexusStore

/// The entry operations (`EntryService`) of `LocalNodeService`.
extension LocalNodeService {
    public func publish(_ request: PublishRequest) async throws(PlexusError) -> EntryView {
        try await node.publish(request).view
    }

    public func publish(batch: PublishBatchRequest) async throws(PlexusError) -> [EntryView] {
        try await node.publish(batch: batch).map(\.view)
    }

    public func feed(_ request: FeedRequest) async throws(PlexusError) -> EntryPage {
        let wait = try WaitTime.duration(ms: request.waitMs)
        let query = FeedQuery(
            author: request.author, topic: request.topic, type: request.type, tag: request.tag, ref: request.ref,
            since: request.since, before: request.before, limit: request.limit ?? FeedQuery.defaultLimit)
        let page = try await node.feed(query, wait: wait)
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

    public func delete(_ request: DeleteEntriesRequest) async throws(PlexusError) -> DeletionView {
        try await node.delete(try request.validated().ids)
    }

    public func forks(limit: Int?) async throws(PlexusError) -> [ForkView] {
        let limit = try PageLimit.check(limit ?? 100)
        return try await node.store.forks(limit: limit).map { proof in
            ForkView(
                author: proof.author, seq: proof.seq, heldID: proof.held.id, conflictingID: proof.conflicting.id,
                heldEntry: proof.held.encoded(), conflictingEntry: proof.conflicting.encoded(), detectedMs: proof.detectedMs)
        }
    }
}
