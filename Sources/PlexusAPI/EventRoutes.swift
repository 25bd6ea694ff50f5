import AsyncAlgorithms
import Foundation
import HTTPTypes
import Hummingbird
import Metrics
import NIOCore
import PlexusCore
import PlexusNode
import PlexusStore
import ServiceLifecycle
import Synchronization

/// `GET /v1/events`: entries as server-sent events, as they are stored (published here or
/// replicated). Every event's `id` is the entry's cursor, so a client that reconnects with
/// `Last-Event-ID` (or `?since=`) continues exactly after the last event it received: no
/// gap, no duplicate. Filters as for the feed; a comment line every `heartbeat_ms` keeps
/// idle connections alive; a client that stops reading has its connection closed after
/// `writeTimeout` instead of being buffered for. With `group`, the stream carries the
/// group's entries as this node opens them (the group feed's order and cursors; an entry
/// whose key is late holds the stream back briefly instead of being skipped).
struct EventRoutes: APIRouteCollection {
    let service: LocalNodeService
    var node: Node { service.node }
    /// Streams open at once; more get `overloaded`.
    static let maxStreams = 256
    /// How long one write may wait for a client that does not read before its connection
    /// is closed.
    static let writeTimeout = TimeAmount.seconds(10)
    /// Entries read from the store per step.
    static let pageSize = 200

    private let streams = StreamCount()

    init(service: LocalNodeService) {
        self.service = service
    }

    func register(on router: Router<APIRequestContext>) {
        router.get("/v1/events") { request, context in try await stream(request, connection: context.channel) }
        router.get("/v1/dms/events") { request, context in try await directStream(request, connection: context.channel) }
    }

    /// `GET /v1/dms/events`: direct messages (sent and received) as they are stored, event
    /// `dm`, ids their `seq`; resumed with `Last-Event-ID` or `since` like the entry stream.
    func directStream(_ request: Request, connection: any Channel) async throws -> Response {
        let reader = QueryReader(request)
        let heartbeatMs = try Self.heartbeat(reader)
        let with = try reader.agentID("with")
        var start = try Self.resumePoint(request, reader, idIs: "a message's seq")
        if start == nil { start = try await service.directMessages(DirectListRequest(limit: 1)).messages.first?.seq ?? 0 }
        return try respond(from: start ?? 0, connection: connection) { [service] since throws(PlexusError) in
            let page = try await service.directMessages(DirectListRequest(with: with, since: since, limit: Self.pageSize, waitMs: heartbeatMs))
            return (page.messages.map { ($0.seq, "dm", Self.json($0)) }, page.nextSeq)
        }
    }

    /// `heartbeat_ms`: 100 to 60000, 15000 when absent.
    private static func heartbeat(_ reader: QueryReader) throws(PlexusError) -> Int {
        let heartbeatMs = try reader.int("heartbeat_ms", default: 15_000)
        guard (100...60_000).contains(heartbeatMs) else {
            throw PlexusError(.invalidArgument, "heartbeat_ms must be between 100 and 60000")
        }
        return heartbeatMs
    }

    /// Where a stream continues: after `Last-Event-ID`, else after `since`, else nil. `since`
    /// is read even when Last-Event-ID wins, so a malformed one is refused either way.
    private static func resumePoint(_ request: Request, _ reader: QueryReader, idIs what: String) throws(PlexusError) -> Int64? {
        let since = try reader.cursor("since")
        guard let lastEventID = request.headers[.lastEventID] else { return since }
        guard let cursor = QueryReader.decimal(lastEventID), cursor >= 0 else {
            throw PlexusError(.invalidArgument, "Last-Event-ID must be an event id this node sent (\(what))")
        }
        return cursor
    }

    private static func json(_ value: some Encodable) -> String {
        (try? JSONEncoder.compact.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// The stream for `request`'s filters, written to `connection` (also the panel's live feed).
    func stream(_ request: Request, connection: any Channel) async throws -> Response {
        let reader = QueryReader(request)
        let heartbeatMs = try Self.heartbeat(reader)
        var query = FeedQuery(
            author: try reader.agentID("author"), topic: reader.string("topic"), type: reader.string("type"),
            tag: reader.string("tag"), limit: Self.pageSize)
        // Without a resume point: from now on.
        query.since = try Self.resumePoint(request, reader, idIs: "a cursor")
        if query.since == nil { query.since = try await node.status().store.latestCursor }
        let group = reader.string("group")
        if let group {
            _ = try await service.group(group)  // 404 before the stream starts
            // Allowed by the document, refused for what it says: a group has one topic.
            guard query.topic == nil else { throw PlexusError(.invalidContent, "give group or topic, not both") }
        }
        let start = query.since ?? 0
        if let group {
            return try respond(from: start, connection: connection) { [service, query] since throws(PlexusError) in
                let feed = FeedRequest(
                    author: query.author, type: query.type, tag: query.tag, since: since, limit: Self.pageSize, waitMs: heartbeatMs)
                let page = try await service.groupFeed(group: group, GroupFeedRequest(feed))
                return (page.entries.map { ($0.cursor, "entry", Self.json($0)) }, page.nextCursor)
            }
        }
        let heartbeat = Duration.milliseconds(heartbeatMs)
        return try respond(from: start, connection: connection) { [node, query] since throws(PlexusError) in
            var query = query
            query.since = since
            let page = try await node.feed(query, wait: heartbeat)
            return (page.entries.map { ($0.cursor, "entry", Self.json($0.view)) }, page.nextCursor)
        }
    }

    /// One page of events: each with its id (a cursor), name and JSON data, and where the
    /// next page starts.
    typealias EventPage = (events: [(id: Int64, name: String, data: String)], next: Int64?)

    /// A server-sent event stream from `start` on, read page by page with `next`.
    private func respond(
        from start: Int64, connection: any Channel,
        next: @escaping @Sendable (Int64) async throws(PlexusError) -> EventPage
    ) throws -> Response {
        guard streams.enter(limit: Self.maxStreams) else {
            throw PlexusError(.overloaded, "\(Self.maxStreams) event streams are open; try again later")
        }
        // Released by whichever ends first: the writer below, or the producer (which gives up
        // when nothing takes its events, as when the response body is never written).
        let slot = StreamSlot(streams)
        let channel = AsyncChannel<ByteBuffer>()
        let producer = Task {
            defer {
                channel.finish()
                slot.release()
            }
            await Self.produce(from: start, next: next, into: channel)
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            // Ends when the producer finishes (the node shutting down), the client goes away,
            // or a write waits longer than `writeTimeout` (the client stopped reading: its
            // connection is closed, which fails the write).
            defer {
                producer.cancel()
                slot.release()
            }
            try await withGracefulShutdownHandler {
                for await buffer in channel {
                    let watchdog = connection.eventLoop.scheduleTask(in: Self.writeTimeout) {
                        Self.stalled.increment()
                        connection.close(promise: nil)
                    }
                    defer { watchdog.cancel() }
                    try await writer.write(buffer)
                }
            } onGracefulShutdown: {
                producer.cancel()
            }
            try await writer.finish(nil)
        })
    }

    /// Reads pages from `since` on, hands events to the writer one page at a time; a page
    /// waits up to the heartbeat for new entries, and an empty one writes a heartbeat.
    private static func produce(
        from since: Int64, next: @Sendable (Int64) async throws(PlexusError) -> EventPage, into channel: AsyncChannel<ByteBuffer>
    ) async {
        var since = since
        guard await deliver(ByteBuffer(string: "retry: 2000\n\n"), to: channel) else { return }
        while !Task.isCancelled {
            let page: EventPage
            do {
                page = try await next(since)
            } catch {
                _ = await deliver(ByteBuffer(string: "event: error\ndata: \(error)\n\n"), to: channel)
                return
            }
            if page.events.isEmpty {
                guard await deliver(ByteBuffer(string: ": keepalive\n\n"), to: channel) else { return }
                continue
            }
            var text = ""
            for event in page.events {
                text += "id: \(event.id)\nevent: \(event.name)\ndata: \(event.data)\n\n"
            }
            guard await deliver(ByteBuffer(string: text), to: channel) else { return }
            since = page.next ?? since
        }
    }

    /// `plexus_event_streams_stalled_total`: connections closed because a write waited
    /// longer than `writeTimeout`.
    static let stalled = Metrics.Counter(label: "plexus_event_streams_stalled_total")

    /// Hands a buffer to the writer; false when cancelled, or when nothing took it for twice
    /// `writeTimeout` (no writer: the response body was never written).
    private static func deliver(_ buffer: ByteBuffer, to channel: AsyncChannel<ByteBuffer>) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await channel.send(buffer)
                return !Task.isCancelled
            }
            group.addTask {
                try? await Task.sleep(for: .nanoseconds(writeTimeout.nanoseconds * 2))
                return false
            }
            let delivered = await group.next() ?? false
            group.cancelAll()
            return delivered
        }
    }
}

/// One stream's place in a `StreamCount`, given back once however many times released.
final class StreamSlot: Sendable {
    private let count: StreamCount
    private let released = Atomic(false)

    init(_ count: StreamCount) {
        self.count = count
    }

    func release() {
        guard !released.exchange(true, ordering: .relaxed) else { return }
        count.leave()
    }
}

/// How many event streams are open.
final class StreamCount: Sendable {
    private let count = Mutex(0)

    /// Counts one more stream unless `limit` are open.
    func enter(limit: Int) -> Bool {
        count.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
    }

    func leave() {
        count.withLock { $0 -= 1 }
    }
}

extension HTTPField.Name {
    // A constant, valid header name: the initialiser cannot fail here.
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
}
