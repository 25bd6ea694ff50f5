import Foundation
import Logging
import MCP
import PlexusCore

/// MCP over Streamable HTTP: one MCP server and transport per session (`Mcp-Session-Id`),
/// created by an `initialize` request and ended by `DELETE`, by idling past `idleTimeout`,
/// or, when `maxSessions` are open, by a new session displacing the longest-idle one that
/// has been idle at least `minimumIdleToDisplace`. The web framework in front hands requests
/// in and writes the responses out; token and `Origin` checks happen there, and the MCP
/// transport checks `Host`, `Accept`, `Content-Type` and the protocol version itself.
public actor MCPHTTPSessions {
    /// Bounds on sessions.
    public struct Limits: Sendable {
        public var maxSessions: Int
        public var idleTimeout: Duration
        public var minimumIdleToDisplace: Duration

        public init(maxSessions: Int = 64, idleTimeout: Duration = .seconds(1800), minimumIdleToDisplace: Duration = .seconds(60)) {
            self.maxSessions = maxSessions
            self.idleTimeout = idleTimeout
            self.minimumIdleToDisplace = minimumIdleToDisplace
        }
    }

    private struct Session {
        let server: Server
        let transport: StatefulHTTPServerTransport
        var lastUsed: ContinuousClock.Instant
    }

    private struct FixedSessionID: SessionIDGenerator {
        let id: String
        func generateSessionID() -> String { id }
    }

    private let service: any NodeService
    private let limits: Limits
    private let logger: Logger
    private var sessions: [String: Session] = [:]

    public init(service: any NodeService, limits: Limits = Limits(), logger: Logger) {
        self.service = service
        self.limits = limits
        self.logger = logger
    }

    /// Answers one HTTP request to the MCP endpoint.
    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        let method = request.method.uppercased()
        if let id = request.header(HTTPHeaderName.sessionID) {
            guard var session = sessions[id] else {
                return .error(statusCode: 404, .invalidRequest("Not Found: no MCP session \(id.prefix(64)) (expired or ended); initialize a new one"))
            }
            session.lastUsed = .now
            sessions[id] = session
            let response = await session.transport.handleRequest(request)
            if method == "DELETE", response.statusCode == 200 {
                await close(id)
            }
            return response
        }
        guard method == "POST", let body = request.body, Self.isInitialize(body) else {
            return .error(statusCode: 400, .invalidRequest("Bad Request: send an initialize request first, then the \(HTTPHeaderName.sessionID) header it returns"))
        }
        return await open(request)
    }

    /// Ends every session (at shutdown).
    public func closeAll() async {
        for id in Array(sessions.keys) { await close(id) }
    }

    private func open(_ request: HTTPRequest) async -> HTTPResponse {
        await sweep()
        if sessions.count >= limits.maxSessions {
            let now = ContinuousClock.now
            guard let (idleID, idle) = sessions.min(by: { $0.value.lastUsed < $1.value.lastUsed }),
                  now - idle.lastUsed >= limits.minimumIdleToDisplace
            else {
                return .error(statusCode: 503, .serverError(code: -32000, message: "overloaded: \(limits.maxSessions) MCP sessions are open; end one (DELETE) or retry later"))
            }
            logger.info("MCP session displaced", metadata: ["session": "\(idleID)"])
            await close(idleID)
        }
        let id = UUID().uuidString
        let transport = StatefulHTTPServerTransport(sessionIDGenerator: FixedSessionID(id: id))
        let server = await PlexusMCPServer.make(service: service)
        do {
            try await server.start(transport: transport)
        } catch {
            await server.stop()
            return .error(statusCode: 500, .internalError("cannot start an MCP session: \(error)"))
        }
        sessions[id] = Session(server: server, transport: transport, lastUsed: .now)
        let response = await transport.handleRequest(request)
        if case .error = response {
            await close(id)
        } else {
            logger.debug("MCP session opened", metadata: ["session": "\(id)"])
        }
        return response
    }

    /// Whether a body is a JSON-RPC `initialize` request.
    private static func isInitialize(_ body: Data) -> Bool {
        struct Probe: Decodable { let method: String? }
        return (try? JSONDecoder().decode(Probe.self, from: body))?.method == Initialize.name
    }

    private func sweep() async {
        let now = ContinuousClock.now
        for (id, session) in sessions where now - session.lastUsed > limits.idleTimeout {
            logger.debug("MCP session expired", metadata: ["session": "\(id)"])
            await close(id)
        }
    }

    private func close(_ id: String) async {
        guard let session = sessions.removeValue(forKey: id) else { return }
        await session.server.stop()
    }
}
