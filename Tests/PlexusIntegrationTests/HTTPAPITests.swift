import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PlexusCore
import Testing

/// The HTTP API of a real node: envelope, auth, bad input, OpenAPI.
@Suite struct HTTPAPITests {
    struct Reply {
        let status: Int
        let headers: [String: String]
        let json: [String: Any]

        var code: String? { (json["error"] as? [String: Any])?["code"] as? String }
        var data: [String: Any]? { json["data"] as? [String: Any] }
    }

    static func request(
        _ node: ServeProcess, _ method: HTTPMethod, _ path: String, token: String?, body: String? = nil,
        contentType: String? = "application/json", headers: [(String, String)] = []
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: "http://\(node.apiAddress)\(path)")
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let contentType, body != nil { request.headers.add(name: "Content-Type", value: contentType) }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        let json = (try? JSONSerialization.jsonObject(with: Data(buffer: bytes))) as? [String: Any] ?? [:]
        var headers: [String: String] = [:]
        for header in response.headers { headers[header.name.lowercased()] = header.value }
        return Reply(status: Int(response.status.code), headers: headers, json: json)
    }

    /// A request's whole answer as text (for streamed answers such as MCP's event streams).
    static func requestText(
        _ address: String, _ method: HTTPMethod, _ path: String, token: String?, body: String, headers: [(String, String)] = []
    ) async throws -> String {
        var request = HTTPClientRequest(url: "http://\(address)\(path)")
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        return String(buffer: try await response.body.collect(upTo: 16 << 20))
    }

    @Test func everyBadRequestGetsItsOwnCodeAndChangesNothing() async throws {
        let directory = try TempDirectory()
        let node = try await ServeProcess(directory: directory)
        let token = node.token
        func call(_ method: HTTPMethod, _ path: String, token: String?, body: String? = nil,
                  contentType: String? = "application/json", headers: [(String, String)] = []) async throws -> Reply {
            try await Self.request(node, method, path, token: token, body: body, contentType: contentType, headers: headers)
        }

        let good = try await call(.POST, "/v1/publish", token: token, body: #"{"content":{"text":"kept"}}"#)
        #expect(good.status == 201)
        let id = try #require(good.data?["id"] as? String)

        let cases: [(Reply, Int, String)] = [
            (try await call(.GET, "/v1/status", token: nil), 401, "unauthorized"),
            (try await call(.GET, "/v1/status", token: "wrong"), 401, "unauthorized"),
            (try await call(.GET, "/v1/no-such-route", token: token), 404, "notFound"),
            (try await call(.DELETE, "/v1/feed", token: token), 405, "methodNotAllowed"),
            (try await call(.POST, "/v1/publish", token: token, body: "{oops"), 400, "invalidJSON"),
            (try await call(.POST, "/v1/publish", token: token, body: "[1]"), 400, "invalidJSON"),
            (try await call(.POST, "/v1/publish", token: token, body: #"{"content":"text"}"#), 422, "invalidContent"),
            (try await call(.POST, "/v1/publish", token: token, body: #"{"content":{},"tags":"x"}"#), 400, "invalidArgument"),
            (try await call(.POST, "/v1/publish", token: token, body: #"{"content":{}}"#, contentType: "text/plain"), 415, "unsupportedMediaType"),
            (try await call(.POST, "/v1/publish", token: token,
                            body: #"{"content":{"t":""# + String(repeating: "x", count: 70_000) + #""}}"#), 413, "tooLarge"),
            (try await call(.POST, "/v1/publish", token: token,
                            body: #"{"content":{"t":""# + String(repeating: "x", count: 400_000) + #""}}"#), 413, "tooLarge"),
            (try await call(.GET, "/v1/status", token: token, headers: [("Origin", "https://evil.example")]), 403, "forbidden"),
            (try await call(.GET, "/v1/feed?limit=0", token: token), 400, "invalidArgument"),
            (try await call(.GET, "/v1/feed?since=1&before=x", token: token), 400, "invalidArgument"),
            (try await call(.GET, "/v1/feed?limit=", token: token), 400, "invalidArgument"),
            (try await call(.GET, "/v1/feed?since=%2B1", token: token), 400, "invalidArgument"),
            (try await call(.GET, "/v1/feed?author=nobody", token: token), 400, "invalidArgument"),
            (try await call(.GET, "/v1/entries/xyz", token: token), 400, "invalidArgument"),
            (try await call(.GET, "/v1/entries/" + String(repeating: "0", count: 64), token: token), 404, "notFound"),
            (try await call(.GET, "/v1/search", token: token), 400, "invalidArgument"),
            (try await call(.GET, "/v1/search?q=", token: token), 400, "invalidArgument"),
            (try await call(.POST, "/v1/publish", token: token, body: #"{"content":{},"expires_ms":5}"#), 422, "invalidContent"),
            (try await call(.POST, "/v1/peers", token: token, body: #"{"address":""}"#), 400, "invalidArgument"),
            (try await call(.POST, "/v1/tasks", token: token, body: #"{"capability":"juggling","payload":null}"#), 404, "noRoute"),
            (try await call(.POST, "/v1/tasks", token: token, body: #"{"capability":"x","payload":null,"require":["cpu_cores>0"]}"#),
             400, "invalidArgument"),
            (try await call(.POST, "/v1/topics", token: token, body: #"{"topic":""# + String(repeating: "é", count: 100) + #""}"#),
             413, "tooLarge"),
        ]
        for (reply, status, code) in cases {
            #expect(reply.status == status)
            #expect(reply.code == code)
            #expect(reply.json["ok"] as? Bool == false)
        }
        #expect(cases[3].0.headers["allow"] == "GET")

        // Nothing above changed what is stored, and the node still serves.
        let status = try await call(.GET, "/v1/status", token: token)
        #expect((status.data?["store"] as? [String: Any])?["entries"] as? Int == 1)
        #expect(try await call(.GET, "/v1/entries/\(id)", token: token).status == 200)
        // A loopback origin (a local tool's page) is allowed.
        #expect(try await call(.GET, "/v1/status", token: token, headers: [("Origin", "http://127.0.0.1:3000")]).status == 200)
        _ = try await node.stop()
    }

    @Test func feedPagesByCursorOverHTTP() async throws {
        let directory = try TempDirectory()
        let node = try await ServeProcess(directory: directory)
        for index in 1...12 {
            _ = try await node.client.publish(PublishRequest(topic: index.isMultiple(of: 2) ? "even" : "odd", content: .object(["i": .integer(Int64(index))])))
        }
        let firstPage = try await node.client.feed(topic: "even", limit: 4)
        #expect(firstPage.entries.count == 4)
        #expect(firstPage.hasMore)
        let secondPage = try await node.client.feed(topic: "even", before: firstPage.nextCursor, limit: 4)
        #expect(secondPage.entries.count == 2)
        #expect(!secondPage.hasMore)
        #expect(secondPage.nextCursor == nil)
        let seqs = (firstPage.entries + secondPage.entries).map(\.seq)
        #expect(seqs == [12, 10, 8, 6, 4, 2])
        // `since` and `before` together: the window between them, oldest first.
        let all = try await node.client.feed(since: 0, limit: 100).entries.map(\.cursor)
        #expect(all.count == 12)
        let window = try await node.client.feed(since: all[2], before: all[6], limit: 100)
        #expect(window.entries.map(\.cursor) == Array(all[3..<6]))
        _ = try await node.stop()
    }

    @Test func aBatchPublishStoresEveryEntryInOrderOrNone() async throws {
        let directory = try TempDirectory()
        let node = try await ServeProcess(directory: directory)
        let token = node.token
        let first = try await node.client.publish(PublishRequest(content: .object(["text": .string("before the batch")])))

        // Works: three entries, consecutive seqs chained to the head, each its own content.
        let batch = try await node.client.publish(batch: PublishBatchRequest(entries: [
            PublishRequest(topic: "notes", tags: ["a"], content: .object(["text": .string("alpha quartz")])),
            PublishRequest(type: "fact", content: .object(["text": .string("bravo basalt")])),
            PublishRequest(topic: "notes", content: .object(["text": .string("charlie chalk")]), ttlSeconds: 60),
        ]))
        #expect(batch.map(\.seq) == [2, 3, 4])
        #expect(batch.map(\.prev) == [first.id, batch[0].id, batch[1].id])
        #expect(batch.map(\.type) == ["insight", "fact", "insight"])
        #expect(batch[0].tags == ["a"] && batch[2].expiresMs != nil)
        #expect(try await node.client.search(SearchRequest("basalt")).hits.map(\.entry.id) == [batch[1].id])
        #expect(try await node.client.feed(topic: "notes", limit: 10).entries.map(\.id) == [batch[2].id, batch[0].id])

        // Refused, whole: an entry that fails names its index, and nothing of the batch is stored.
        func call(_ body: String) async throws -> Reply {
            try await Self.request(node, .POST, "/v1/publish/batch", token: token, body: body)
        }
        let good = #"{"content":{"text":"fine"}}"#
        let tooMany = "{\"entries\":[" + Array(repeating: good, count: PublishBatchRequest.maxEntries + 1).joined(separator: ",") + "]}"
        let cases: [(Reply, Int, String, String?)] = [
            (try await call(#"{"entries":[\#(good),{"content":{},"expires_ms":5}]}"#), 422, "invalidContent", "entries[1]"),
            (try await call(#"{"entries":[{"content":{},"tag":"x"},\#(good)]}"#), 400, "invalidArgument", "entries[0]"),
            (try await call(#"{"entries":[\#(good),{"content":"text"}]}"#), 422, "invalidContent", "entries[1]"),
            (try await call(#"{"entries":[\#(good),{"content":{"t":""# + String(repeating: "x", count: 70_000) + #""}}]}"#),
             413, "tooLarge", "entries[1]"),
            (try await call(#"{"entries":[]}"#), 400, "invalidArgument", nil),
            (try await call(tooMany), 400, "invalidArgument", nil),
            (try await call(#"{"entries":{}}"#), 400, "invalidArgument", nil),
            (try await call(#"[\#(good)]"#), 400, "invalidJSON", nil),
            (try await Self.request(node, .POST, "/v1/publish/batch", token: nil, body: "{\"entries\":[\(good)]}"), 401, "unauthorized", nil),
        ]
        for (reply, status, code, mention) in cases {
            #expect(reply.status == status)
            #expect(reply.code == code)
            if let mention {
                #expect(((reply.json["error"] as? [String: Any])?["message"] as? String)?.contains(mention) == true)
            }
        }
        #expect(try await node.client.status().store.entries == 4)
        // The refused batches took no seqs: the next publish follows the last stored one.
        #expect(try await node.client.publish(PublishRequest(content: .object(["text": .string("after")]))).seq == 5)
        _ = try await node.stop()
    }

    @Test func openAPIDocumentListsExactlyTheServedRoutes() async throws {
        let directory = try TempDirectory()
        let node = try await ServeProcess(directory: directory)
        var request = HTTPClientRequest(url: "http://\(node.apiAddress)/openapi.json")
        request.method = .GET
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        #expect(response.status == .ok)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(buffer: try await response.body.collect(upTo: 1 << 20))) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var documented: Set<String> = []
        // Operations documented as answering 405 (GET /mcp: MCP's stream of server messages,
        // which Plexus does not offer) are routed to say so.
        var refusing: Set<String> = []
        for (path, operations) in paths {
            for (method, operation) in operations {
                documented.insert("\(method.uppercased()) \(path)")
                if ((operation as? [String: Any])?["responses"] as? [String: Any])?["405"] != nil { refusing.insert("\(method.uppercased()) \(path)") }
            }
        }
        #expect(refusing == ["GET /mcp"])
        // Every documented operation is routed on the live node: no 405, and no "no route" 404
        // (a 404 about the resource, such as an entry or topic not held, is a routed answer).
        let agent = try await node.client.identity().agentID.description
        for operation in documented {
            let parts = operation.split(separator: " ", maxSplits: 1)
            let path = String(parts[1]).replacingOccurrences(of: "{id}", with: String(repeating: "0", count: 64))
                .replacingOccurrences(of: "{topic}", with: "research").replacingOccurrences(of: "{peer}", with: "127.0.0.1:9").replacingOccurrences(of: "{author}", with: agent)
            if path == "/v1/events" {  // a stream: served if it opens
                #expect(try await EventStreamTests.read(node, query: "?heartbeat_ms=100", count: 1, comments: true).status == 200)
                continue
            }
            if path.hasSuffix("/events") {  // another stream (its body never ends): served if it opens
                #expect(try await EventStreamTests.read(node, path: path, query: "?heartbeat_ms=100", count: 1, comments: true).status == 200)
                continue
            }
            let reply = try await Self.request(node, HTTPMethod(rawValue: String(parts[0])), path, token: node.token,
                                               body: parts[0] == "POST" ? #"{"content":{}}"# : nil)
            if refusing.contains(operation) {
                #expect(reply.status == 405, "\(operation) is documented as 405")
                continue
            }
            #expect(reply.status != 405, "\(operation) is documented but not served")
            let message = (reply.json["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(!message.hasPrefix("no route"), "\(operation) is documented but not served")
        }
        _ = try await node.stop()
    }
}
