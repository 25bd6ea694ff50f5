import AsyncHTTPClient
import Foundation
import NIOCore
import PlexusCore

/// One server-sent event of `GET /v1/events`.
public struct ServerEvent: Sendable, Equatable {
    /// The event id: the entry's cursor, to resume from.
    public var id: String?
    /// `entry` for a stored entry, `error` when the node ends the stream on an error.
    public var event: String
    /// The event's data: an entry's JSON for `entry`.
    public var data: String
}

extension NodeClient {
    /// Longest SSE line accepted; a longer one ends the stream with an error.
    public static let maxEventLineBytes = 1 << 20

    /// Streams `GET /v1/events` (entries as they are stored) until the node closes the
    /// stream or the consuming task is cancelled. `lastEventID` resumes after that event.
    /// Heartbeat comments are consumed here and not yielded.
    public func events(
        author: String? = nil, topic: String? = nil, group: String? = nil, type: String? = nil, tag: String? = nil,
        since: Int64? = nil, lastEventID: String? = nil, heartbeatMs: Int? = nil
    ) -> AsyncThrowingStream<ServerEvent, any Error> {
        let query: [String: String?] = [
            "author": author, "topic": topic, "group": group, "type": type, "tag": tag, "since": since.map(String.init),
            "heartbeat_ms": heartbeatMs.map(String.init),
        ]
        return eventStream("/v1/events", query: query, lastEventID: lastEventID)
    }

    /// Streams `GET /v1/dms/events` (direct messages sent and received, event `dm`, ids
    /// their `seq`) like `events`.
    public func directEvents(with peer: AgentID? = nil, lastEventID: String? = nil, heartbeatMs: Int? = nil) -> AsyncThrowingStream<ServerEvent, any Error> {
        eventStream(
            "/v1/dms/events", query: ["with": peer?.description, "heartbeat_ms": heartbeatMs.map(String.init)], lastEventID: lastEventID)
    }

    private func eventStream(_ path: String, query: [String: String?], lastEventID: String?) -> AsyncThrowingStream<ServerEvent, any Error> {
        var components = URLComponents()
        let items = query.compactMap { key, value in value.map { URLQueryItem(name: key, value: $0) } }
        components.queryItems = items.isEmpty ? nil : items.sorted { $0.name < $1.name }
        var request = HTTPClientRequest(url: baseURL + path + (components.percentEncodedQuery.map { "?" + $0 } ?? ""))
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "text/event-stream")
        if let lastEventID { request.headers.add(name: "Last-Event-ID", value: lastEventID) }
        let (stream, continuation) = AsyncThrowingStream<ServerEvent, any Error>.makeStream(bufferingPolicy: .bufferingOldest(1024))
        let task = Task { [http, baseURL, request] in
            do {
                // No overall deadline: the stream is meant to stay open.
                let response = try await http.execute(request, timeout: .hours(24 * 365))
                guard response.status == .ok else {
                    let body = try await response.body.collect(upTo: 64 * 1024)
                    throw NodeClient.failure(from: Data(buffer: body), path: path)
                }
                var parser = ServerEventParser()
                for try await chunk in response.body {
                    for event in try parser.consume(chunk) {
                        if case .terminated = continuation.yield(event) { return }
                    }
                }
                continuation.finish()
            } catch let error as PlexusError {
                continuation.finish(throwing: error)
            } catch is CancellationError {
                continuation.finish()
            } catch {
                continuation.finish(throwing: PlexusError(.nodeNotRunning, "event stream from \(baseURL) ended: \(error)"))
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}

/// Splits an SSE byte stream into events (the WHATWG event-stream format, the parts the node
/// sends: `id`, `event`, `data`, comments, blank-line dispatch).
struct ServerEventParser {
    private var line: [UInt8] = []
    private var id: String?
    private var event = ""
    private var data: [String] = []

    mutating func consume(_ buffer: ByteBuffer) throws(PlexusError) -> [ServerEvent] {
        var events: [ServerEvent] = []
        for byte in buffer.readableBytesView {
            guard byte == UInt8(ascii: "\n") else {
                if byte != UInt8(ascii: "\r") { line.append(byte) }
                guard line.count <= NodeClient.maxEventLineBytes else {
                    throw PlexusError(.tooLarge, "an event stream line exceeds \(NodeClient.maxEventLineBytes) bytes")
                }
                continue
            }
            let text = String(decoding: line, as: UTF8.self)
            line.removeAll(keepingCapacity: true)
            if text.isEmpty {
                if !data.isEmpty {
                    events.append(ServerEvent(id: id, event: event.isEmpty ? "message" : event, data: data.joined(separator: "\n")))
                }
                event = ""
                data = []
                continue
            }
            if text.hasPrefix(":") { continue }
            let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let field = String(parts[0])
            var value = parts.count > 1 ? String(parts[1]) : ""
            if value.hasPrefix(" ") { value.removeFirst() }
            switch field {
            case "id": id = value
            case "event": event = value
            case "data": data.append(value)
            default: break
            }
        }
        return events
    }
}
