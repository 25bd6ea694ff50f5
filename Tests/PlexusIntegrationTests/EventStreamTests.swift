import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import PlexusClient
import PlexusCore
import Testing

/// `GET /v1/events` on a real node: events as entries are stored, resume with
/// `Last-Event-ID` across a forced disconnect, heartbeats, bad input.
@Suite struct EventStreamTests {
    struct Event: Equatable {
        var id: String?
        var name: String?
        var data: String?
    }

    /// Opens an event stream and returns the first `count` events (heartbeat comments
    /// count as events named ":" when `comments` is set), then drops the connection.
    static func read(
        _ node: ServeProcess, path: String = "/v1/events", query: String = "", lastEventID: String? = nil, count: Int, comments: Bool = false,
        timeout: Duration = .seconds(20)
    ) async throws -> (status: Int, events: [Event]) {
        var request = HTTPClientRequest(url: "http://\(node.apiAddress)\(path)\(query)")
        request.headers.add(name: "Authorization", value: "Bearer \(node.token)")
        if let lastEventID { request.headers.add(name: "Last-Event-ID", value: lastEventID) }
        let reading = Task { () -> (Int, [Event]) in
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
            guard response.status == .ok else { return (Int(response.status.code), []) }
            var events: [Event] = []
            var text = ""
            for try await buffer in response.body {
                text += String(buffer: buffer)
                while let end = text.range(of: "\n\n") {
                    let block = text[..<end.lowerBound]
                    text = String(text[end.upperBound...])
                    var event = Event()
                    for line in block.split(separator: "\n") {
                        if line.hasPrefix(":") { event.name = ":" }
                        else if line.hasPrefix("id: ") { event.id = String(line.dropFirst(4)) }
                        else if line.hasPrefix("event: ") { event.name = String(line.dropFirst(7)) }
                        else if line.hasPrefix("data: ") { event.data = String(line.dropFirst(6)) }
                    }
                    if event.name == ":" && !comments { continue }
                    if event.name == nil && event.id == nil { continue }  // the retry hint
                    events.append(event)
                    if events.count == count { return (200, events) }
                }
            }
            return (200, events)
        }
        let deadline = Task {
            try await Task.sleep(for: timeout)
            reading.cancel()
        }
        defer { deadline.cancel() }
        let (status, events) = try await reading.value
        return (status, events)
    }

    static func entryID(of event: Event) -> String? {
        guard let data = event.data?.data(using: .utf8),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return json["id"] as? String
    }

    @Test func aStreamResumesAfterADisconnectWithNoGapAndNoDuplicate() async throws {
        let node = try await ServeProcess(directory: try TempDirectory())
        var published: [EntryView] = []
        for index in 0..<5 {
            published.append(try await node.client.publish(PublishRequest(content: .object(["n": .integer(Int64(index))]))))
        }
        // From the start of the store; the connection is dropped after three events.
        let first = try await Self.read(node, query: "?since=0", count: 3)
        #expect(first.status == 200)
        #expect(first.events.compactMap(Self.entryID) == published.prefix(3).map(\.id.hex))
        #expect(first.events.allSatisfy { $0.name == "entry" })
        let lastID = try #require(first.events.last?.id)
        #expect(lastID == String(published[2].cursor))

        for index in 5..<8 {
            published.append(try await node.client.publish(PublishRequest(content: .object(["n": .integer(Int64(index))]))))
        }
        let resumed = try await Self.read(node, lastEventID: lastID, count: 5)
        #expect(resumed.events.compactMap(Self.entryID) == published.dropFirst(3).map(\.id.hex))
        #expect(resumed.events.compactMap(\.id) == published.dropFirst(3).map { String($0.cursor) })
        // Open streams do not hold up a graceful shutdown.
        let stopping = ContinuousClock.now
        #expect(try await node.stop() == 0)
        #expect(ContinuousClock.now - stopping < .seconds(10))
    }

    @Test func filtersHeartbeatsAndBadInput() async throws {
        let node = try await ServeProcess(directory: try TempDirectory())
        // Nothing new: heartbeats arrive as comments.
        let idle = try await Self.read(node, query: "?heartbeat_ms=100", count: 2, comments: true)
        #expect(idle.events.count == 2 && idle.events.allSatisfy { $0.name == ":" })

        // A topic filter: of two new entries, only the matching one comes through.
        let cursor = try await node.client.status().store.latestCursor
        _ = try await node.client.publish(PublishRequest(content: .object(["text": .string("elsewhere")])))
        let research = try await node.client.publish(PublishRequest(topic: "research", content: .object(["text": .string("found")])))
        let filtered = try await Self.read(node, query: "?since=\(cursor)&topic=research&heartbeat_ms=100", count: 2, comments: true)
        #expect(filtered.events.first.flatMap(Self.entryID) == research.id.hex)
        #expect(filtered.events.dropFirst().allSatisfy { $0.name == ":" })

        let bad = try await HTTPAPITests.request(node, .GET, "/v1/events", token: node.token, headers: [("Last-Event-ID", "abc")])
        #expect(bad.status == 400 && bad.code == "invalidArgument")
        let noToken = try await HTTPAPITests.request(node, .GET, "/v1/events", token: nil)
        #expect(noToken.status == 401)
        let badHeartbeat = try await HTTPAPITests.request(node, .GET, "/v1/events?heartbeat_ms=5", token: node.token)
        #expect(badHeartbeat.status == 400)
        _ = try await node.stop()
    }

    /// `plexus events` reads the same stream: entries after a cursor, one JSON per line, in order.
    @Test func theEventsCommandPrintsTheStream() async throws {
        let directory = try TempDirectory()
        let node = try await ServeProcess(directory: directory)
        var ids: [EntryID] = []
        for index in 0..<3 {
            ids.append(try await node.client.publish(PublishRequest(topic: index == 1 ? "other" : nil, content: .object(["n": .integer(Int64(index))]))).id)
        }
        let run = try await runPlexus(
            ["events", "--data", directory.path, "--json", "--since", "0", "--count", "2"], home: directory.path, timeout: .seconds(30))
        #expect(run.status == 0, "\(run.stderr)")
        let printed = run.stdout.split(separator: "\n").compactMap { try? JSONDecoder().decode(EntryView.self, from: Data($0.utf8)) }
        #expect(printed.map(\.id) == Array(ids.prefix(2)))
        let filtered = try await runPlexus(
            ["events", "--data", directory.path, "--json", "--since", "0", "--count", "1", "--topic", "other"], home: directory.path,
            timeout: .seconds(30))
        #expect(filtered.stdout.split(separator: "\n").compactMap { try? JSONDecoder().decode(EntryView.self, from: Data($0.utf8)) }.map(\.id) == [ids[1]])
        _ = try await node.stop()
    }

    /// A client that opens a stream and never reads has its connection closed once a write
    /// has waited `writeTimeout` (10 s), instead of holding the node's writer forever.
    @Test func aClientThatStopsReadingIsDisconnected() async throws {
        let directory = try TempDirectory()
        let node = try await ServeProcess(directory: directory)
        let target = try HostPort.parse(node.apiAddress, defaultHost: "127.0.0.1")
        let connection = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.autoRead, value: false)
            .channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: 4096)
            .connect(host: target.host, port: target.port).get()
        let request = "GET /v1/events?since=0 HTTP/1.1\r\nHost: \(node.apiAddress)\r\nAuthorization: Bearer \(node.token)\r\n\r\n"
        try await connection.writeAndFlush(ByteBuffer(string: request)).get()

        // About 8 MB of events: more than the socket buffers on both sides hold.
        let text = String(repeating: "stalled reader ", count: 2_000)
        let client = node.client
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for index in 0..<32 {
                        _ = try await client.publish(PublishRequest(content: .object(["text": .string(text), "n": .integer(Int64(worker * 100 + index))])))
                    }
                }
            }
            try await group.waitForAll()
        }
        try await MeshTests.eventually("the stalled stream is closed", within: .seconds(40)) {
            try await MetricsTests.scrape(node)["plexus_event_streams_stalled_total"] == 1
        }
        // Reading now drains what the kernel buffered, then finds the connection closed.
        let closure = AsyncStream<Void>.makeStream()
        connection.closeFuture.whenComplete { _ in closure.continuation.finish() }
        connection.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in connection.read() }
        let closed = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in closure.stream {}  // ends when the connection closes, or on cancellation
                return !Task.isCancelled
            }
            group.addTask { try await Task.sleep(for: .seconds(20)); return false }
            let first = try await group.next() ?? false
            group.cancelAll()
            return first
        }
        #expect(closed)
        if !closed { try await connection.close() }
        // The node serves on, and a new stream works.
        #expect(try await Self.read(node, query: "?since=0", count: 1).events.count == 1)
        _ = try await node.stop()
    }
}
