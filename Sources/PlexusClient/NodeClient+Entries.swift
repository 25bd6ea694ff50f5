import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOFoundationCompat
import PlexusCore

/// The entry operations (`EntryService`) of `NodeClient`, and `submit(entry:)`.
extension NodeClient {
    public func publish(_ request: PublishRequest) async throws(PlexusError) -> EntryView {
        try await send(.POST, "/v1/publish", body: request)
    }

    public func publish(batch: PublishBatchRequest) async throws(PlexusError) -> [EntryView] {
        try await send(.POST, "/v1/publish/batch", body: batch)
    }

    /// Reads the feed; see `GET /v1/feed` for the parameters. With `waitMs` (and `since`),
    /// an empty page waits up to that long for entries to arrive.
    public func feed(_ request: FeedRequest) async throws(PlexusError) -> EntryPage {
        try await send(.GET, "/v1/feed", query: [
            "author": request.author?.description, "topic": request.topic, "type": request.type, "tag": request.tag,
            "ref": request.ref?.hex, "since": request.since.map(String.init), "before": request.before.map(String.init),
            "limit": request.limit.map(String.init), "wait_ms": request.waitMs.map(String.init),
        ], timeout: request.waitMs.map { max(timeout, .milliseconds(Int64($0)) + .seconds(10)) })
    }

    /// `feed(_:)` with the filters as text (as typed on a command line).
    public func feed(
        author: String? = nil, topic: String? = nil, type: String? = nil, tag: String? = nil, ref: String? = nil,
        since: Int64? = nil, before: Int64? = nil, limit: Int? = nil, waitMs: Int? = nil
    ) async throws(PlexusError) -> EntryPage {
        try await feed(FeedRequest(
            author: try author.map { text throws(PlexusError) in try AgentID.parse(text) }, topic: topic, type: type, tag: tag,
            ref: try ref.map { text throws(PlexusError) in try EntryID.parse(text) },
            since: since, before: before, limit: limit, waitMs: waitMs))
    }

    public func entry(_ id: EntryID) async throws(PlexusError) -> EntryView {
        try await send(.GET, "/v1/entries/\(id.hex)")
    }

    /// Deletes entries of the node's own feed (`POST /v1/deletions`).
    public func delete(_ request: DeleteEntriesRequest) async throws(PlexusError) -> DeletionView {
        try await send(.POST, "/v1/deletions", body: request)
    }

    public func thread(_ id: EntryID, limit: Int? = nil) async throws(PlexusError) -> EntryPage {
        try await send(.GET, "/v1/entries/\(id.hex)/thread", query: ["limit": limit.map(String.init)])
    }

    public func search(_ request: SearchRequest) async throws(PlexusError) -> SearchResults {
        try await send(.GET, "/v1/search", query: [
            "q": request.text, "author": request.author?.description, "topic": request.topic, "type": request.type,
            "tag": request.tag, "limit": request.limit.map(String.init), "offset": request.offset.map(String.init),
        ])
    }

    /// `search(_:)` with the filters as text (as typed on a command line).
    public func search(
        _ text: String, author: String? = nil, topic: String? = nil, type: String? = nil, tag: String? = nil,
        limit: Int? = nil, offset: Int? = nil
    ) async throws(PlexusError) -> SearchResults {
        try await search(SearchRequest(
            text, author: try author.map { text throws(PlexusError) in try AgentID.parse(text) }, topic: topic, type: type,
            tag: tag, limit: limit, offset: offset))
    }

    /// Submits an entry signed elsewhere (protobuf `Entry` bytes).
    public func submit(entry: Data) async throws(PlexusError) -> SubmitEntryResult {
        try await send(.POST, "/v1/entries", body: SubmitEntryRequest(entry: entry))
    }

    /// Proven forks, newest first.
    public func forks(limit: Int? = nil) async throws(PlexusError) -> [ForkView] {
        try await send(.GET, "/v1/forks", query: ["limit": limit.map(String.init)])
    }
}
