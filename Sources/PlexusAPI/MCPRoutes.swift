import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PlexusCore
import PlexusMCP

/// MCP over Streamable HTTP at `/mcp`, behind the same token and `Origin` check as the rest
/// of the API: adapts Hummingbird requests and responses to the MCP session registry.
struct MCPRoutes: APIRouteCollection {
    let sessions: MCPHTTPSessions
    /// Largest JSON-RPC message accepted.
    let bodyLimit: Int

    func register(on router: Router<APIRequestContext>) {
        for method in [HTTPRequest.Method.post, .get, .delete] {
            router.on("/mcp", method: method) { request, context in try await handle(request, context: context) }
        }
    }

    private func handle(_ request: Request, context: APIRequestContext) async throws -> Response {
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { "\($0), \(field.value)" } ?? field.value
        }
        var body: Data?
        if request.method == .post {
            do {
                body = Data(buffer: try await request.body.collect(upTo: bodyLimit))
            } catch is NIOTooManyBytesError {
                throw PlexusError(.tooLarge, "MCP message exceeds \(bodyLimit) bytes")
            } catch let error as HTTPError where error.status == .contentTooLarge {
                throw PlexusError(.tooLarge, "MCP message exceeds \(bodyLimit) bytes")
            }
        }
        let message = MCPHTTPSessions.Request(method: request.method.rawValue, headers: headers, body: body)
        // A tool call that may wait (`wait_ms`, `wait_s`: next_task, query, offer_buy, ...)
        // runs as a long poll: cancelled when the node shuts down or its client goes, so it
        // neither holds up a stop nor leases a task to nobody.
        let mayWait = body.map { $0.range(of: Data(#""wait_"#.utf8)) != nil } ?? false
        let reply = try await context.longPoll(waits: mayWait) { [sessions] in
            await sessions.handle(message)
        }
        var fields = HTTPFields()
        for (name, value) in reply.headers {
            guard let name = HTTPField.Name(name) else { continue }
            fields[name] = value
        }
        return Response(status: HTTPResponse.Status(code: reply.status), headers: fields, body: .init(byteBuffer: ByteBuffer(data: reply.body)))
    }
}
