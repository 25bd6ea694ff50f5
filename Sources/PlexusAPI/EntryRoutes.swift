import Foundation
import Hummingbird
import NIOCore
import PlexusCore
import PlexusNode
import PlexusStore

/// Publish, feed, entries, threads and search.
struct EntryRoutes: APIRouteCollection {
    let service: LocalNodeService
    var node: Node { service.node }

    func register(on router: Router<APIRequestContext>) {
        router.post("/v1/publish") { request, _ in try await publish(request) }
        router.post("/v1/publish/batch") { request, _ in try await publishBatch(request) }
        router.get("/v1/feed") { request, context in try await feed(request, context) }
        router.get("/v1/entries/{id}") { _, context in
            let id = try EntryID.parse(context.pathParameter("id"))
            return EnvelopeResponse.success(try await service.entry(id))
        }
        router.get("/v1/entries/{id}/thread") { request, context in
            let id = try EntryID.parse(context.pathParameter("id"))
            return EnvelopeResponse.success(try await service.thread(id, limit: try QueryReader(request).int("limit")))
        }
        router.get("/v1/search") { request, _ in try await search(request) }
        router.post("/v1/entries") { request, _ in try await submit(request) }
        router.post("/v1/deletions") { request, _ in
            let body: DeleteEntriesRequest = try await TaskRoutes.decode(request, limit: 160 * 1024, keys: ["ids"])
            return EnvelopeResponse.success(try await service.delete(body))
        }
        router.delete("/v1/entries/{id}") { _, context in
            let id = try EntryID.parse(context.pathParameter("id"))
            return EnvelopeResponse.success(try await service.delete(DeleteEntriesRequest(ids: [id])))
        }
        router.get("/v1/forks") { request, _ in
            EnvelopeResponse.success(try await service.forks(limit: try QueryReader(request).int("limit")))
        }
    }

    /// An entry signed elsewhere: verified and stored under the feed rules. 201 when new,
    /// 200 when already held; a refusal is its error code (fork, bad signature, …).
    private func submit(_ request: Request) async throws -> Response {
        try JSONBody.requireJSONContentType(request)
        let json = try await JSONBody.read(request, limit: node.config.limits.maxBodyBytes * 2 + 16 * 1024)
        guard case .object(let fields) = json, case .string(let text)? = fields["entry"], fields.count == 1 else {
            throw PlexusError(.invalidArgument, "the body must be {\"entry\": \"<base64 of a protobuf Entry>\"}")
        }
        guard let bytes = Data(base64Encoded: text) else {
            throw PlexusError(.invalidArgument, "'entry' must be base64 of a protobuf Entry")
        }
        switch try await node.submit(encoded: bytes) {
        case .stored(let stored):
            return EnvelopeResponse.success(SubmitEntryResult(entry: stored.view, created: true), status: .created)
        case .duplicate:
            guard let id = SignedEntry.id(ofEncoded: bytes) else { throw PlexusError(.internal, "a held entry has no id") }
            return EnvelopeResponse.success(SubmitEntryResult(entry: try await node.entry(id).view, created: false))
        case .refused(let error):
            throw error
        }
    }

    private func publish(_ request: Request) async throws -> Response {
        try JSONBody.requireJSONContentType(request)
        let json = try await JSONBody.read(request, limit: node.config.limits.maxBodyBytes * 2 + 16 * 1024)
        return EnvelopeResponse.success(try await service.publish(try PublishRequest(json: json)), status: .created)
    }

    /// Largest body of `POST /v1/publish/batch` (16 MiB): a batch of the largest entries
    /// is better sent in several requests.
    static let maxBatchBodyBytes = 16 << 20

    private func publishBatch(_ request: Request) async throws -> Response {
        try JSONBody.requireJSONContentType(request)
        let json = try await JSONBody.read(request, limit: Self.maxBatchBodyBytes)
        return EnvelopeResponse.success(try await service.publish(batch: try PublishBatchRequest(json: json)), status: .created)
    }

    private func feed(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let reader = QueryReader(request)
        let feedRequest = FeedRequest(
            author: try reader.agentID("author"), topic: reader.string("topic"), type: reader.string("type"),
            tag: reader.string("tag"), ref: try reader.entryID("ref"), since: try reader.cursor("since"),
            before: try reader.cursor("before"), limit: try reader.int("limit"), waitMs: try reader.int("wait_ms"))
        return EnvelopeResponse.success(try await context.longPoll(waitMs: feedRequest.waitMs) { try await service.feed(feedRequest) })
    }

    private func search(_ request: Request) async throws -> Response {
        let reader = QueryReader(request)
        guard let text = reader.string("q") else {
            throw PlexusError(.invalidArgument, "missing query parameter 'q'")
        }
        let searchRequest = SearchRequest(
            text, author: try reader.agentID("author"), topic: reader.string("topic"), type: reader.string("type"),
            tag: reader.string("tag"), limit: try reader.int("limit"), offset: try reader.int("offset"))
        return EnvelopeResponse.success(try await service.search(searchRequest))
    }
}

/// Typed access to query parameters, with `invalidArgument` for malformed values. A text
/// filter given empty is no filter; a typed parameter given empty is refused, as the
/// OpenAPI document says (an empty string is not an integer or an id).
struct QueryReader {
    let request: Request

    init(_ request: Request) { self.request = request }

    /// A text parameter; nil when absent or empty.
    func string(_ name: String) -> String? {
        request.uri.queryParameters.get(name).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A typed parameter's text: nil when absent, refused when empty.
    private func typed(_ name: String, _ what: String) throws(PlexusError) -> String? {
        guard let text = request.uri.queryParameters.get(name) else { return nil }
        guard !text.isEmpty else { throw PlexusError(.invalidArgument, "'\(name)' is empty; give \(what) or leave it out") }
        return String(text)
    }

    func int(_ name: String, default value: Int) throws(PlexusError) -> Int {
        try int(name) ?? value
    }

    func int(_ name: String) throws(PlexusError) -> Int? {
        guard let text = try typed(name, "an integer") else { return nil }
        guard let number = Self.decimal(text) else {
            throw PlexusError(.invalidArgument, "'\(name)' must be an integer, got '\(text.prefix(40))'")
        }
        return Int(number)
    }

    func cursor(_ name: String) throws(PlexusError) -> Int64? {
        guard let text = try typed(name, "a cursor") else { return nil }
        guard let number = Self.decimal(text), number >= 0 else {
            throw PlexusError(.invalidArgument, "'\(name)' must be a cursor (a non-negative integer), got '\(text.prefix(40))'")
        }
        return number
    }

    /// A time in ms since the epoch (non-negative).
    func timeMs(_ name: String) throws(PlexusError) -> Int64? {
        guard let text = try typed(name, "a time in ms since the epoch") else { return nil }
        guard let number = Self.decimal(text), number >= 0 else {
            throw PlexusError(.invalidArgument, "'\(name)' must be a time in ms since the epoch (a non-negative integer), got '\(text.prefix(40))'")
        }
        return number
    }

    /// `true` or `false`; nil when absent.
    func bool(_ name: String) throws(PlexusError) -> Bool? {
        guard let text = try typed(name, "true or false") else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default: throw PlexusError(.invalidArgument, "'\(name)' must be true or false, got '\(text.prefix(40))'")
        }
    }

    func agentID(_ name: String) throws(PlexusError) -> AgentID? {
        try typed(name, "an agent id").map { text throws(PlexusError) in try AgentID.parse(text) }
    }

    func entryID(_ name: String) throws(PlexusError) -> EntryID? {
        try typed(name, "an entry id").map { text throws(PlexusError) in try EntryID.parse(text) }
    }

    /// A decimal integer: an optional `-` and 1 to 18 digits, nothing else (no `+`, no
    /// spaces), so what the document calls an integer is exactly what is accepted.
    static func decimal(_ text: some StringProtocol) -> Int64? {
        let digits = text.hasPrefix("-") ? text.dropFirst() : text[...]
        guard (1...18).contains(digits.utf8.count), digits.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }
        return Int64(text)
    }
}

/// Reading JSON request bodies with a size limit and a content-type check.
enum JSONBody {
    static func requireJSONContentType(_ request: Request) throws(PlexusError) {
        let type = request.headers[.contentType]?.lowercased() ?? ""
        guard type.hasPrefix("application/json") else {
            throw PlexusError(.unsupportedMediaType, "send the body as JSON with 'Content-Type: application/json'")
        }
    }

    static func read(_ request: Request, limit: Int) async throws -> JSONValue {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw PlexusError(.tooLarge, "request body exceeds \(limit) bytes")
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw PlexusError(.tooLarge, "request body exceeds \(limit) bytes")
        }
        return try JSONValue(parsing: Data(buffer: buffer))
    }
}
