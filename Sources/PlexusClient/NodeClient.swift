import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOFoundationCompat
import PlexusCore

/// A client for a node's local HTTP API, used by the CLI, tests and benchmarks.
/// Every failure is a `PlexusError`: the node's own error code, or `nodeNotRunning` when
/// nothing answers at the address.
public struct NodeClient: NodeService {
    /// `http://host:port` of the API.
    public let baseURL: String
    let token: String
    let http: HTTPClient
    private let timeout: TimeAmount

    /// A client for the API at `address` (`host:port`) with `token`. Uses the shared
    /// HTTP client, so there is nothing to shut down.
    public init(address: String, token: String, timeout: TimeAmount = .seconds(30), http: HTTPClient = .shared) {
        self.baseURL = "http://\(address)"
        self.token = token
        self.http = http
        self.timeout = timeout
    }

    /// A client for the node of a data directory: reads `api.addr` and `api.token` there.
    public init(dataDirectory: String, timeout: TimeAmount = .seconds(30)) throws(PlexusError) {
        let root = URL(fileURLWithPath: (dataDirectory as NSString).expandingTildeInPath, isDirectory: true)
        func read(_ name: String) -> String? {
            (try? String(contentsOf: root.appendingPathComponent(name), encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let address = read("api.addr"), !address.isEmpty else {
            throw PlexusError(.nodeNotRunning, "no node is running for \(root.path) (no api.addr): start one with 'plexus serve'")
        }
        guard let token = read("api.token"), !token.isEmpty else {
            throw PlexusError(.noIdentity, "no API token in \(root.path): run 'plexus init' or 'plexus serve' first")
        }
        self.init(address: address, token: token, timeout: timeout)
    }

    /// A client for the node of a data directory that has checked the node accepts
    /// connections. An HTTP client retries refused connections until its deadline, so
    /// without this a stopped node would look like a hang instead of a clear error.
    public static func connect(dataDirectory: String, timeout: TimeAmount = .seconds(30)) async throws(PlexusError) -> NodeClient {
        let client = try NodeClient(dataDirectory: dataDirectory, timeout: timeout)
        try await client.checkReachable()
        return client
    }

    /// Opens and closes one TCP connection to the API address; `nodeNotRunning` if refused.
    public func checkReachable(timeout: TimeAmount = .seconds(2)) async throws(PlexusError) {
        let address = String(baseURL.dropFirst("http://".count))
        do {
            let target = try HostPort.parse(address, defaultHost: "127.0.0.1")
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(timeout)
                .connect(host: target.host, port: target.port)
                .get()
            try await channel.close()
        } catch {
            throw PlexusError(.nodeNotRunning, "cannot reach the node at \(baseURL): is 'plexus serve' running? (\(error))")
        }
    }

    public func health() async throws(PlexusError) -> [String: String] {
        try await send(.GET, "/v1/health")
    }

    public func status() async throws(PlexusError) -> NodeStatus {
        try await send(.GET, "/v1/status")
    }

    public func identity() async throws(PlexusError) -> IdentityView {
        try await send(.GET, "/v1/identity")
    }

    public func publish(_ request: PublishRequest) async throws(PlexusError) -> EntryView {
        try await send(.POST, "/v1/publish", body: request)
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

    /// The connected mesh peers.
    public func peers() async throws(PlexusError) -> [PeerView] {
        try await send(.GET, "/v1/peers")
    }

    /// Asks the node to dial a peer (and keep it connected).
    public func connect(_ request: ConnectRequest) async throws(PlexusError) -> PeerView {
        try await send(.POST, "/v1/peers", body: request)
    }

    /// Disconnects a peer (agent id or `host:port`) and forgets its remembered addresses.
    public func removePeer(_ peer: String) async throws(PlexusError) -> PeerRemoval {
        try await send(.DELETE, "/v1/peers/\(Self.pathSegment(peer))")
    }

    /// The topics the node is in.
    public func topics() async throws(PlexusError) -> [TopicView] {
        try await send(.GET, "/v1/topics")
    }

    /// Joins a topic; returns the topics after.
    public func subscribe(_ topic: String) async throws(PlexusError) -> [TopicView] {
        try await send(.POST, "/v1/topics", body: SubscribeRequest(topic: topic))
    }

    /// Leaves a topic; returns the topics after.
    public func unsubscribe(_ topic: String) async throws(PlexusError) -> [TopicView] {
        try await send(.DELETE, "/v1/topics/\(Self.pathSegment(topic))")
    }

    /// The authors the node stores.
    public func follows() async throws(PlexusError) -> FollowsView {
        try await send(.GET, "/v1/follows")
    }

    public func follow(_ author: AgentID) async throws(PlexusError) -> FollowsView {
        try await send(.POST, "/v1/follows", body: FollowRequest(author: author))
    }

    public func unfollow(_ author: AgentID) async throws(PlexusError) -> FollowsView {
        try await send(.DELETE, "/v1/follows/\(Self.pathSegment(author.description))")
    }

    /// Anti-entropy per neighbour and topic.
    public func sync() async throws(PlexusError) -> [SyncView] {
        try await send(.GET, "/v1/sync")
    }

    /// Agents in the node's directory matching `query`.
    public func agents(_ query: AgentQuery) async throws(PlexusError) -> [AgentView] {
        try await send(.GET, "/v1/agents", query: ["capability": query.capability, "user": query.user, "label": query.label])
    }

    /// One agent's directory entry.
    public func agent(_ id: AgentID) async throws(PlexusError) -> AgentView {
        try await send(.GET, "/v1/agents/\(Self.pathSegment(id.description))")
    }

    public func sendTask(_ request: SendTaskRequest) async throws(PlexusError) -> TaskView {
        try await send(.POST, "/v1/tasks", body: request, timeout: request.waitMs.map { max(timeout, .milliseconds(Int64($0)) + .seconds(10)) })
    }

    public func tasks(limit: Int) async throws(PlexusError) -> [TaskView] {
        try await send(.GET, "/v1/tasks", query: ["limit": String(limit)])
    }

    public func task(_ id: TaskID, waitMs: Int) async throws(PlexusError) -> TaskView {
        try await send(.GET, "/v1/tasks/\(id)", query: ["wait_ms": String(waitMs)], timeout: max(timeout, .milliseconds(Int64(waitMs)) + .seconds(10)))
    }

    public func cancelTask(_ id: TaskID) async throws(PlexusError) -> TaskView {
        try await send(.POST, "/v1/tasks/\(id)/cancel", body: [String: String]())
    }

    public func nextTask(capability: String, waitMs: Int, leaseMs: Int) async throws(PlexusError) -> TaskView? {
        let next: NextTask = try await send(
            .GET, "/v1/tasks/next", query: ["capability": capability, "wait_ms": String(waitMs), "lease_ms": String(leaseMs)],
            timeout: max(timeout, .milliseconds(Int64(waitMs)) + .seconds(10)))
        return next.task
    }

    public func taskProgress(_ id: TaskID, message: String) async throws(PlexusError) -> TaskView {
        try await send(.POST, "/v1/tasks/\(id)/progress", body: ["message": message])
    }

    public func finishTask(_ id: TaskID, with outcome: TaskResultRequest) async throws(PlexusError) -> TaskView {
        try await send(.POST, "/v1/tasks/\(id)/result", body: outcome)
    }

    /// `data` of `GET /v1/tasks/next`: a task or null.
    private struct NextTask: Decodable {
        let task: TaskView?
    }

    /// The Prometheus exposition of `GET /metrics` (text format 0.0.4).
    public func metrics() async throws(PlexusError) -> String {
        var request = HTTPClientRequest(url: baseURL + "/metrics")
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        let data: Data
        let status: HTTPResponseStatus
        do {
            let response = try await http.execute(request, timeout: timeout)
            status = response.status
            data = Data(buffer: try await response.body.collect(upTo: 16 << 20))
        } catch {
            throw PlexusError(.nodeNotRunning, "cannot reach the node at \(baseURL): is 'plexus serve' running? (\(error))")
        }
        guard status == .ok else { throw Self.failure(from: data, path: "/metrics") }
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: - Transport

    private struct Reply<Payload: Decodable>: Decodable {
        struct Failure: Decodable {
            let code: String
            let message: String
        }

        let ok: Bool
        let data: Payload?
        let error: Failure?
    }

    private struct NoBody: Encodable {}

    private func send<Payload: Decodable>(
        _ method: HTTPMethod, _ path: String, query: [String: String?] = [:], timeout: TimeAmount? = nil
    ) async throws(PlexusError) -> Payload {
        try await send(method, path, query: query, body: Optional<NoBody>.none, timeout: timeout)
    }

    private func send<Payload: Decodable, Body: Encodable>(
        _ method: HTTPMethod, _ path: String, query: [String: String?] = [:], body: Body?, timeout: TimeAmount? = nil
    ) async throws(PlexusError) -> Payload {
        var components = URLComponents()
        let items = query.compactMap { key, value in value.map { URLQueryItem(name: key, value: $0) } }
        components.queryItems = items.isEmpty ? nil : items.sorted { $0.name < $1.name }
        var request = HTTPClientRequest(url: baseURL + path + (components.percentEncodedQuery.map { "?" + $0 } ?? ""))
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            do {
                request.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(body)))
            } catch {
                throw PlexusError(.invalidArgument, "cannot encode the request: \(error)")
            }
        }
        let data: Data
        do {
            let response = try await http.execute(request, timeout: timeout ?? self.timeout)
            data = Data(buffer: try await response.body.collect(upTo: 64 << 20))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw PlexusError(.nodeNotRunning, "the node at \(baseURL) did not answer in time")
        } catch {
            throw PlexusError(.nodeNotRunning, "cannot reach the node at \(baseURL): is 'plexus serve' running? (\(error))")
        }
        let reply: Reply<Payload>
        do {
            reply = try JSONDecoder().decode(Reply<Payload>.self, from: data)
        } catch {
            throw PlexusError(.internal, "unexpected reply from \(baseURL)\(path): \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
        if reply.ok, let payload = reply.data {
            return payload
        }
        let code = reply.error.flatMap { PlexusError.Code(rawValue: $0.code) } ?? .internal
        throw PlexusError(code, reply.error?.message ?? "request failed")
    }

    /// The error in a failed reply's envelope.
    static func failure(from data: Data, path: String) -> PlexusError {
        guard let reply = try? JSONDecoder().decode(Reply<String>.self, from: data), let error = reply.error else {
            return PlexusError(.internal, "unexpected reply from \(path): \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
        return PlexusError(PlexusError.Code(rawValue: error.code) ?? .internal, error.message)
    }

    /// RFC 3986 unreserved characters and `:`: everything else in a path segment is escaped.
    private static let pathSegmentCharacters = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~:"))

    private static func pathSegment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: pathSegmentCharacters) ?? text
    }
}
