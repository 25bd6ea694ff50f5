import AsyncHTTPClient
import Foundation
import NIOHTTP1
import PlexusCore
import Testing

/// MCP against a real node, driven by the official Python MCP SDK from PyPI: over
/// Streamable HTTP at `/mcp` and over stdio through `plexus mcp`.
@Suite(.serialized) struct MCPInteropTests {
    static let script = PythonPeer.interopScript("mcp_client.py")
    static let expectedTools: Set<String> = [
        "status", "identity", "publish", "publish_batch", "query", "search", "get", "thread", "peers", "add_peer", "follows", "follow",
        "unfollow", "topics", "subscribe", "unsubscribe", "find_agents", "send_task", "get_task", "next_task", "complete_task",
        "group_list", "group_show", "group_create", "group_add", "group_remove", "group_role", "group_rekey", "group_leave",
        "group_publish", "group_read", "group_search", "retract", "compile_context", "board_list", "board_create", "board_move",
        "presence_list", "presence_set", "ledger", "balance", "transfer", "mint", "offer_list", "offer_create", "offer_buy",
        "offer_goods", "offer_withdraw", "retention_list", "retention_add", "retention_remove", "retention_run", "delete", "blob_list", "blob_put", "blob_get", "blob_pin",
        "contact_list", "contact_add", "contact_remove", "dm_send", "dm_list",
    ]

    /// The Accept header of MCP's Streamable HTTP, and an initialize request.
    static let accept = ("Accept", "application/json, text/event-stream")
    static let initialize = #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#

    /// Opens an MCP session over HTTP; its id.
    static func openSession(_ node: ServeProcess) async throws -> String {
        let opened = try await HTTPAPITests.request(node, .POST, "/mcp", token: node.token, body: initialize, headers: [accept])
        return try #require(opened.headers["mcp-session-id"], "\(opened.status) \(opened.json)")
    }

    /// What every transport must show: the tools, a publish that is stored, a search that
    /// finds it, and the three failures reported the MCP way.
    static func checkReport(_ report: [String: Any], word: String, node: ServeProcess) async throws {
        let tools = Set(report["tools"] as? [String] ?? [])
        #expect(tools.isSuperset(of: expectedTools), "tools: \(tools.sorted())")
        #expect(report["publish_required"] as? [String] == ["content"])
        #expect(report["publish_error"] as? Bool == false)
        let published = try #require(report["published"] as? [String: Any])
        let id = try #require(published["id"] as? String)
        #expect((published["content"] as? [String: Any])?["text"] as? String == "interop \(word) entry")
        #expect((report["published_structured"] as? [String: Any])?["id"] as? String == id)
        // The entry is really in the node's store, signed by the node.
        let stored = try await node.client.entry(try EntryID.parse(id))
        #expect(stored.author == (try await node.client.identity().agentID))
        #expect(report["search_ids"] as? [String] == [id])
        // Three entries in one call, after the one publish: the next three seqs.
        let batch = try #require(report["batch"] as? [String: Any])
        #expect(batch["is_error"] as? Bool == false)
        #expect(batch["seqs"] as? [Int] == [2, 3, 4], "\(batch)")

        let badID = try #require(report["bad_id"] as? [String: Any])
        #expect(badID["is_error"] as? Bool == true)
        #expect((badID["text"] as? String)?.hasPrefix("invalidArgument: not an entry id") == true)
        let unknownArgument = try #require(report["unknown_argument"] as? [String: Any])
        #expect(unknownArgument["is_error"] as? Bool == true)
        #expect((unknownArgument["text"] as? String)?.contains("unknown argument 'colour'") == true)
        // A group created, written and read through MCP; on the node the entry is sealed.
        let group = try #require(report["group"] as? [String: Any])
        #expect(group["role"] as? String == "owner" && group["publish_error"] as? Bool == false)
        let read = try #require(group["read"] as? [[Any]])
        #expect(read.count == 1 && read.first?.first as? String == "claim" && read.first?.last as? String == "sealed \(word)")
        #expect((group["context"] as? String)?.contains("sealed \(word)") == true)
        let board = try #require(group["board"] as? [[Any]])
        #expect(board.count == 1 && board.first?[0] as? Bool == true && board.first?[1] as? String == "task \(word)" && board.first?[2] as? String == "open")
        let groupView = try await node.client.group(try #require(group["id"] as? String))
        #expect(groupView.entries == 2)
        let unknownTool = try #require(report["unknown_tool"] as? [String: Any])
        #expect(unknownTool["raised"] as? Bool == true)
        #expect((unknownTool["text"] as? String)?.contains("unknown tool 'no_such_tool'") == true)
        #expect((report["resources"] as? [String])?.contains("plexus://entries/recent") == true)
        let task = try #require(report["task"] as? [String: Any])
        #expect(task["same_id"] as? Bool == true)
        #expect(task["state"] as? String == "completed")
        #expect((task["result"] as? [String: Any])?["heard"] as? String == word)
    }

    @Test func pythonClientOverStreamableHTTP() async throws {
        let directory = try TempDirectory()
        try await PythonPeer.ensure(modules: "mcp", packages: ["mcp"], home: directory.path)
        let node = try await ServeProcess(directory: directory)
        let run = try await PythonPeer.run(
            script: Self.script, ["http", "http://\(node.apiAddress)/mcp", node.token, "zebra"], home: directory.path,
            timeout: .seconds(120))
        #expect(run.status == 0, "\(run.stderr)")
        try await Self.checkReport(run.json, word: "zebra", node: node)
        #expect(try await node.stop() == 0)
    }

    @Test func pythonClientOverStdio() async throws {
        let directory = try TempDirectory()
        try await PythonPeer.ensure(modules: "mcp", packages: ["mcp"], home: directory.path)
        let node = try await ServeProcess(directory: directory)
        let run = try await PythonPeer.run(
            script: Self.script, ["stdio", PlexusBinary.url.path, directory.path, "giraffe"], home: directory.path,
            timeout: .seconds(120))
        #expect(run.status == 0, "\(run.stderr)")
        try await Self.checkReport(run.json, word: "giraffe", node: node)
        #expect(try await node.stop() == 0)
    }

    /// `plexus mcp` answers every line of its input, a malformed one with a JSON-RPC error,
    /// and exits when the input ends, also when stdin and stdout are regular files rather
    /// than pipes (`plexus mcp < requests > replies`).
    @Test func stdioAnswersEveryLineAndEndsWithItsInput() async throws {
        let directory = try TempDirectory()
        let node = try await ServeProcess(directory: directory)
        let lines = [
            #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
            #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            "{not json",
            #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"publish","arguments":{"content":{"text":"from stdio"}}}}"#,
            #"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"next_task","arguments":{"capability":"idle","wait_ms":300}}}"#,
            // A 20 s wait the client cancels: it ends at once and is not answered.
            #"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"next_task","arguments":{"capability":"idle","wait_ms":20000}}}"#,
            #"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":4,"reason":"no longer needed"}}"#,
        ]
        let requests = directory.url.appendingPathComponent("requests.jsonl")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: requests)
        let started = ContinuousClock.now
        let run = try await runPlexus(["mcp", "--data", directory.path], home: directory.path, stdinFile: requests, timeout: .seconds(30))
        #expect(run.status == 0, "\(run.stderr)")
        let replies = try run.stdout.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        #expect(replies.count == 4, "\(run.stdout)")
        #expect(ContinuousClock.now - started < .seconds(15), "the cancelled call was waited for")
        let byID = Dictionary(replies.compactMap { reply in (reply["id"] as? Int).map { ($0, reply) } }, uniquingKeysWith: { first, _ in first })
        #expect(((byID[1]?["result"] as? [String: Any])?["protocolVersion"]) as? String == "2025-06-18")
        #expect(replies.contains { $0["id"] == nil && ($0["error"] as? [String: Any])?["code"] as? Int == -32700 })
        let published = try #require((byID[2]?["result"] as? [String: Any])?["structuredContent"] as? [String: Any])
        let stored = try await node.client.entry(try EntryID.parse(try #require(published["id"] as? String)))
        #expect(stored.author == (try await node.client.identity().agentID))
        #expect((byID[3]?["result"] as? [String: Any])?["isError"] as? Bool == false)
        #expect(try await node.stop() == 0)
    }

    /// A tool call that waits (`next_task` with `wait_ms`) does not hold up the node's
    /// shutdown: the sessions end, which cancels the call, and its reply ends the request.
    @Test func aWaitingToolCallEndsWhenTheNodeStops() async throws {
        let directory = try TempDirectory()
        let node = try await ServeProcess(directory: directory)
        let session = try await Self.openSession(node)
        let headers = [Self.accept, ("Mcp-Session-Id", session), ("MCP-Protocol-Version", "2025-11-25")]
        _ = try await HTTPAPITests.request(
            node, .POST, "/mcp", token: node.token, body: #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, headers: headers)
        // Works: a short wait answers with no task.
        let (address, token) = (node.apiAddress, node.token)
        let short = try await HTTPAPITests.requestText(
            address, .POST, "/mcp", token: token,
            body: #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"next_task","arguments":{"capability":"idle","wait_ms":200}}}"#,
            headers: headers)
        #expect(short.contains(#""task":null"#) || short.contains(#"\"task\":null"#), "\(short)")

        let call = Task {
            try await HTTPAPITests.requestText(
                address, .POST, "/mcp", token: token,
                body: #"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"next_task","arguments":{"capability":"idle","wait_ms":30000}}}"#,
                headers: headers)
        }
        // The call is waiting on the node once a short poll sent after it has ended.
        _ = try await node.client.nextTask(capability: "other", waitMs: 300, leaseMs: 30_000)
        let stopping = ContinuousClock.now
        #expect(try await node.stop() == 0)
        #expect(ContinuousClock.now - stopping < .seconds(10), "the node waited out the tool call")
        // The call was running on the node (not lost on the way): it was answered.
        let answer = try await call.value
        #expect(answer.contains(#""id":3"#), "\(answer)")
    }

    /// The endpoint is guarded like the rest of the API, and the MCP transport's own checks
    /// answer malformed requests with 4xx, never 5xx.
    @Test func endpointRefusesMissingTokenForeignOriginAndBadRequests() async throws {
        let directory = try TempDirectory()
        let node = try await ServeProcess(directory: directory)
        let (initialize, accept) = (Self.initialize, Self.accept)

        let noToken = try await HTTPAPITests.request(node, .POST, "/mcp", token: nil, body: initialize, headers: [accept])
        #expect(noToken.status == 401)
        #expect(noToken.code == "unauthorized")
        let foreign = try await HTTPAPITests.request(
            node, .POST, "/mcp", token: node.token, body: initialize, headers: [accept, ("Origin", "https://evil.example")])
        #expect(foreign.status == 403)
        #expect(foreign.code == "forbidden")

        let notInitialize = try await HTTPAPITests.request(
            node, .POST, "/mcp", token: node.token, body: #"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#, headers: [accept])
        #expect(notInitialize.status == 400)
        let unknownSession = try await HTTPAPITests.request(
            node, .POST, "/mcp", token: node.token, body: #"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
            headers: [accept, ("Mcp-Session-Id", "no-such-session")])
        #expect(unknownSession.status == 404)
        let garbage = try await HTTPAPITests.request(node, .POST, "/mcp", token: node.token, body: "{not json", headers: [accept])
        #expect(garbage.status == 400)
        let oversize = try await HTTPAPITests.request(
            node, .POST, "/mcp", token: node.token, body: "{\"pad\":\"" + String(repeating: "x", count: 600_000) + "\"}", headers: [accept])
        #expect(oversize.status == 413)
        #expect(oversize.code == "tooLarge")

        let plainText = try await HTTPAPITests.request(node, .POST, "/mcp", token: node.token, body: initialize, contentType: "text/plain", headers: [accept])
        #expect(plainText.status == 415)

        // A well-formed initialize opens a session.
        let opened = try await HTTPAPITests.request(node, .POST, "/mcp", token: node.token, body: initialize, headers: [accept])
        #expect(opened.status == 200)
        #expect(opened.headers["content-type"] == "application/json")
        let session = try #require(opened.headers["mcp-session-id"])
        #expect(((opened.json["result"] as? [String: Any])?["protocolVersion"]) as? String == "2025-11-25")
        let ping = #"{"jsonrpc":"2.0","id":2,"method":"ping"}"#
        let answered = try await HTTPAPITests.request(
            node, .POST, "/mcp", token: node.token, body: ping, headers: [accept, ("Mcp-Session-Id", session), ("MCP-Protocol-Version", "2025-11-25")])
        #expect(answered.status == 200)
        // Within a session too, what is not JSON-RPC is a 400.
        let malformed = try await HTTPAPITests.request(
            node, .POST, "/mcp", token: node.token, body: "{not json", headers: [accept, ("Mcp-Session-Id", session)])
        #expect(malformed.status == 400)
        let badVersion = try await HTTPAPITests.request(
            node, .POST, "/mcp", token: node.token, body: ping, headers: [accept, ("Mcp-Session-Id", session), ("MCP-Protocol-Version", "1999-01-01")])
        #expect(badVersion.status == 400)
        // No server-initiated stream: GET is 405, as the specification allows.
        let stream = try await HTTPAPITests.request(node, .GET, "/mcp", token: node.token, headers: [accept, ("Mcp-Session-Id", session)])
        #expect(stream.status == 405)
        // DELETE ends the session; it is then unknown.
        let ended = try await HTTPAPITests.request(node, .DELETE, "/mcp", token: node.token, headers: [("Mcp-Session-Id", session)])
        #expect(ended.status == 200)
        let gone = try await HTTPAPITests.request(node, .POST, "/mcp", token: node.token, body: ping, headers: [accept, ("Mcp-Session-Id", session)])
        #expect(gone.status == 404)
        #expect(try await node.stop() == 0)
    }
}
