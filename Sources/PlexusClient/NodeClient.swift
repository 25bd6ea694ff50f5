import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOFoundationCompat
import PlexusCore

/// A client for a node's local HTTP API, used by the CLI, tests and benchmarks.
/// Every failure is a `PlexusError`: the node's own error code; `nodeNotRunning` when
/// nothing answers at the address; `timeout` when the node took the request but did not
/// answer within the client's timeout.
public struct NodeClient: NodeService {
    /// `http://host:port` of the API.
    public let baseURL: String
    let token: String
    let http: HTTPClient
    let timeout: TimeAmount

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

    func send<Payload: Decodable>(
        _ method: HTTPMethod, _ path: String, query: [String: String?] = [:], timeout: TimeAmount? = nil
    ) async throws(PlexusError) -> Payload {
        try await send(method, path, query: query, body: Optional<NoBody>.none, timeout: timeout)
    }

    func send<Payload: Decodable, Body: Encodable>(
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
            // It accepted the request, so it runs: it is busy, or the request waits longer
            // than this client does.
            let seconds = Double((timeout ?? self.timeout).nanoseconds) / 1e9
            throw PlexusError(.timeout, "the node at \(baseURL) did not answer within \(seconds) s")
        } catch {
            throw PlexusError(.nodeNotRunning, "cannot reach the node at \(baseURL): is 'plexus serve' running? (\(error))")
        }
        return try decodeReply(data, path: path)
    }

    /// The payload of a reply envelope, or the error it carries.
    func decodeReply<Payload: Decodable>(_ data: Data, path: String) throws(PlexusError) -> Payload {
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

    static func pathSegment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: pathSegmentCharacters) ?? text
    }
}
