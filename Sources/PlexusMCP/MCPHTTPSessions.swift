import Foundation
import Logging
import PlexusCore

/// MCP over Streamable HTTP: one `MCPSession` per `Mcp-Session-Id`, created by an
/// `initialize` request and ended by `DELETE`, by idling past `idleTimeout`, or, when
/// `maxSessions` are open, by a new session displacing the longest-idle one that has been idle
/// at least `minimumIdleToDisplace`. The web framework in front hands requests in and writes
/// the replies out; token and `Origin` checks happen there.
///
/// Requests are answered with one JSON body (`application/json`), notifications with 202.
/// The server sends nothing unasked, so `GET` (a stream of server messages) is 405, which
/// the specification allows.
public actor MCPHTTPSessions {
    /// Bounds on sessions.
    public struct Limits: Sendable {
        public var maxSessions: Int
        public var idleTimeout: Duration
        public var minimumIdleToDisplace: Duration

        /// Sessions cost a few hundred bytes, and clients (Claude Code, the Python SDK) do not
        /// open a new one when theirs is gone: so they last a day idle, and a new one
        /// displaces only one idle for ten minutes or more.
        public init(maxSessions: Int = 256, idleTimeout: Duration = .seconds(86_400), minimumIdleToDisplace: Duration = .seconds(600)) {
            self.maxSessions = maxSessions
            self.idleTimeout = idleTimeout
            self.minimumIdleToDisplace = minimumIdleToDisplace
        }
    }

    /// One HTTP request to the MCP endpoint; header names in lower case.
    public struct Request: Sendable {
        public var method: String
        public var headers: [String: String]
        public var body: Data?

        public init(method: String, headers: [String: String], body: Data?) {
            self.method = method
            self.headers = headers
            self.body = body
        }
    }

    /// The HTTP reply.
    public struct Reply: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: Data

        static func jsonRPC(_ status: Int, _ body: Data, headers: [String: String] = [:]) -> Reply {
            Reply(status: status, headers: headers.merging(["Content-Type": "application/json"]) { _, new in new }, body: body)
        }

        static func refusal(_ status: Int, _ error: MCPError) -> Reply {
            jsonRPC(status, JSONRPCReply.error(id: nil, error))
        }
    }

    /// The session header's name (lower case, as `Request.headers` holds it).
    public static let sessionHeader = "mcp-session-id"
    static let versionHeader = "mcp-protocol-version"

    private struct Entry {
        let session: MCPSession
        var lastUsed: ContinuousClock.Instant
    }

    private let server: PlexusMCPServer
    private let limits: Limits
    private let logger: Logger
    private var sessions: [String: Entry] = [:]

    public init(service: any NodeService, limits: Limits = Limits(), logger: Logger) {
        self.server = PlexusMCPServer(service: service)
        self.limits = limits
        self.logger = logger
    }

    /// Answers one HTTP request to the MCP endpoint.
    public func handle(_ request: Request) async -> Reply {
        let method = request.method.uppercased()
        guard method == "POST" || method == "DELETE" else {
            return Reply(status: 405, headers: ["Allow": "POST, DELETE"], body: Data())
        }
        if let version = request.headers[Self.versionHeader], !PlexusMCPServer.protocolVersions.contains(version) {
            return .refusal(400, .invalidRequest("Bad Request: unsupported MCP-Protocol-Version \(version.prefix(40)); supported: \(PlexusMCPServer.protocolVersions.joined(separator: ", "))"))
        }
        guard let id = request.headers[Self.sessionHeader] else {
            return method == "POST" ? await open(request) : .refusal(400, .invalidRequest("Bad Request: DELETE needs the \(Self.sessionHeader) header"))
        }
        guard var entry = sessions[id] else {
            return .refusal(404, .invalidRequest("Not Found: no MCP session \(id.prefix(64)) (expired or ended); initialize a new one"))
        }
        entry.lastUsed = .now
        sessions[id] = entry
        if method == "DELETE" {
            await close(id)
            return Reply(status: 200, headers: [:], body: Data())
        }
        if let refusal = Self.checkBody(request) { return refusal }
        switch await entry.session.receive(request.body ?? Data()) {
        case .reply(let reply): return .jsonRPC(200, reply)
        case .refused(let refusal): return .jsonRPC(400, refusal)
        case .none: return Reply(status: 202, headers: [:], body: Data())
        }
    }

    /// A 415 or 400 for a POST whose body cannot be an MCP message.
    private static func checkBody(_ request: Request) -> Reply? {
        let type = request.headers["content-type"]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard type == "application/json" else {
            return .refusal(415, .invalidRequest("Unsupported Media Type: send MCP messages as application/json"))
        }
        guard let body = request.body, !body.isEmpty else {
            return .refusal(400, .invalidRequest("Bad Request: the body is empty; send a JSON-RPC message"))
        }
        return nil
    }

    private func open(_ request: Request) async -> Reply {
        if let refusal = Self.checkBody(request) { return refusal }
        switch JSONRPCMessage.parse(request.body ?? Data()) {
        case .failure(let refusal):
            return .jsonRPC(400, JSONRPCReply.error(id: refusal.id, refusal.error))
        case .success(.request(_, "initialize", _)):
            break
        case .success:
            return .refusal(400, .invalidRequest("Bad Request: send an initialize request first, then the Mcp-Session-Id header it returns"))
        }
        await sweep()
        // From the count to the insert without a suspension, so no other open slips in.
        var displaced: MCPSession?
        if sessions.count >= limits.maxSessions {
            let now = ContinuousClock.now
            guard let (idleID, idle) = sessions.min(by: { $0.value.lastUsed < $1.value.lastUsed }),
                  now - idle.lastUsed >= limits.minimumIdleToDisplace
            else {
                return .refusal(503, MCPError(code: -32000, "overloaded: \(limits.maxSessions) MCP sessions are open; end one (DELETE) or retry later"))
            }
            logger.info("MCP session displaced", metadata: ["session": "\(idleID)"])
            displaced = sessions.removeValue(forKey: idleID)?.session
        }
        let id = UUID().uuidString
        let session = MCPSession(server: server)
        sessions[id] = Entry(session: session, lastUsed: .now)
        await displaced?.close()
        logger.debug("MCP session opened", metadata: ["session": "\(id)"])
        guard case .reply(let reply) = await session.receive(request.body ?? Data()) else {
            await close(id)
            return .refusal(500, .internalError("initialize was not answered"))
        }
        return .jsonRPC(200, reply, headers: ["Mcp-Session-Id": id])
    }

    private func sweep() async {
        let now = ContinuousClock.now
        for (id, entry) in sessions where now - entry.lastUsed > limits.idleTimeout {
            logger.debug("MCP session expired", metadata: ["session": "\(id)"])
            await close(id)
        }
    }

    private func close(_ id: String) async {
        guard let entry = sessions.removeValue(forKey: id) else { return }
        await entry.session.close()
    }
}
