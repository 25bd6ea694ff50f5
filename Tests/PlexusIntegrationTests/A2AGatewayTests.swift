import AsyncHTTPClient
import Foundation
import NIOCore
import PlexusClient
import PlexusCore
import Testing

/// The A2A gateway against the official A2A Python SDK (`a2a-sdk` 1.x, `a2a_client.py`):
/// the gateway node G reaches the workers' node W through the relay M (two hops: neither G
/// nor W listens, so they cannot connect); W's workers run here through W's own API,
/// reporting progress.
@Suite(.serialized) struct A2AGatewayTests {
    static let fast = "a2a-echo"
    static let slow = "a2a-slow"

    /// The gateway's `host:port` (from `a2a.addr`).
    static func address(_ node: ServeProcess) async throws -> String {
        var address = ""
        try await MeshTests.eventually("the A2A gateway listens") {
            address = ((try? String(contentsOf: node.directory.file("a2a.addr"), encoding: .utf8)) ?? "")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            return !address.isEmpty
        }
        return address
    }

    /// Takes `fast` tasks: progress, then an echo of the payload's text.
    static func echo(_ worker: NodeClient) async throws {
        while !Task.isCancelled {
            guard let task = try await worker.nextTask(capability: fast, waitMs: 5_000, leaseMs: 30_000) else { continue }
            _ = try await worker.taskProgress(task.id, message: "working on it")
            let text: String
            if case .string(let given)? = task.payload?.objectValue?["text"] { text = given } else { text = "?" }
            _ = try await worker.finishTask(task.id, with: TaskResultRequest(result: .object(["text": .string("echo: \(text)")])))
        }
    }

    /// Takes `slow` tasks: progress, then waits until the task ends (is canceled); returns
    /// how many it saw end that way.
    static func linger(_ worker: NodeClient, count: Int) async throws -> Int {
        var canceled = 0
        for _ in 0..<count {
            var task: TaskView?
            while task == nil { task = try await worker.nextTask(capability: slow, waitMs: 5_000, leaseMs: 60_000) }
            guard let task else { continue }
            _ = try await worker.taskProgress(task.id, message: "started")
            var view = try await worker.task(task.id, waitMs: 0)
            while !view.state.isTerminal { view = try await worker.task(task.id, waitMs: 30_000) }
            if view.state == .canceled { canceled += 1 }
        }
        return canceled
    }

    @Test func theA2APythonSDKReachesAWorkerTwoHopsAway() async throws {
        let relay = try await ServeProcess(directory: try MeshTests.directory(), announce: true)
        let workers = try await ServeProcess(
            directory: try MeshTests.directory(),
            arguments: ["--listen", "off", "--peer", relay.meshAddress, "--capability", Self.fast, "--capability", Self.slow], announce: true)
        let gateway = try await ServeProcess(
            directory: try MeshTests.directory(extra: "a2a:\n  directory_skills: true\n"),
            arguments: ["--listen", "off", "--peer", relay.meshAddress, "--a2a", "127.0.0.1:0"], announce: true)
        let workerID = try await workers.client.identity().agentID
        let relayID = try await relay.client.identity().agentID
        try await MeshTests.eventually("G knows W's record, naming the relay", within: .seconds(60)) {
            try await gateway.client.agent(workerID).record.relays?.contains(relayID) == true
        }
        #expect(try await gateway.client.connectedPeers().allSatisfy { $0.agentID != workerID }, "G is not connected to W")

        let workerClient = workers.client
        let echoing = Task { try await Self.echo(workerClient) }
        defer { echoing.cancel() }
        let lingering = Task { try await Self.linger(workerClient, count: 1) }
        // A task sent through G's own API: the gateway must not show or cancel it.
        let other = try await gateway.client.sendTask(SendTaskRequest(capability: Self.fast, payload: .object(["text": .string("api")]), waitMs: 20_000))
        #expect(other.state == .completed)

        let token = try String(contentsOf: gateway.directory.file("a2a.token"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let base = "http://\(try await Self.address(gateway))"
        try await PythonPeer.ensure(modules: "a2a.client, httpx", packages: ["a2a-sdk>=1.0,<2", "httpx"], home: gateway.directory.path)
        let run = try await PythonPeer.run(
            script: PythonPeer.interopScript("a2a_client.py"), [base, token, Self.fast, Self.slow, other.id.description],
            home: gateway.directory.path, timeout: .seconds(120))
        let seen = run.json
        #expect(run.status == 0, "\(run.stderr.suffix(3000))")

        let card = seen["card"] as? [String: Any] ?? [:]
        #expect((card["skills"] as? [String]).map { Set($0).isSuperset(of: [Self.fast, Self.slow]) } == true, "\(card)")
        let interfaces = card["interfaces"] as? [[String: Any]] ?? []
        #expect(interfaces.map { $0["protocolBinding"] as? String } == ["JSONRPC", "HTTP+JSON"], "\(interfaces)")
        #expect(interfaces.allSatisfy { $0["protocolVersion"] as? String == "1.0" })
        #expect(card["streaming"] as? Bool == true && card["bearer"] as? Bool == true)

        // Streamed: the task, the worker's progress, the result's artifact, then completed.
        let streamed = seen["streamed"] as? [[String: Any]] ?? []
        #expect(streamed.first?["kind"] as? String == "task", "\(streamed)")
        #expect(streamed.contains { $0["state"] as? String == "TASK_STATE_WORKING" && $0["text"] as? String == "working on it" }, "\(streamed)")
        #expect(streamed.contains { ($0["texts"] as? [String]) == ["echo: hello over a2a"] }, "\(streamed)")
        #expect(streamed.last?["state"] as? String == "TASK_STATE_COMPLETED", "\(streamed)")

        let blocking = seen["blocking"] as? [String: Any] ?? [:]
        #expect(blocking["answers"] as? Int == 1 && blocking["state"] as? String == "TASK_STATE_COMPLETED", "\(blocking)")
        #expect(blocking["fetched_id"] as? String == blocking["id"] as? String && blocking["fetched_state"] as? String == "TASK_STATE_COMPLETED")
        #expect(blocking["artifact_texts"] as? [String] == ["echo: third"] && blocking["history_roles"] as? [String] == ["ROLE_USER"])
        // The A2A task is the Plexus task: G holds it, sent to W.
        let plexusTask = try await gateway.client.task(try TaskID.parse(try #require(blocking["id"] as? String)), waitMs: 0)
        #expect(plexusTask.worker == workerID && plexusTask.state == .completed)

        let canceled = seen["canceled"] as? [String: Any] ?? [:]
        #expect(canceled["state"] as? String == "TASK_STATE_CANCELED", "\(canceled)")
        let subscriber = canceled["subscriber_saw"] as? [[String: Any]] ?? []
        #expect(subscriber.first?["kind"] as? String == "task" && subscriber.last?["state"] as? String == "TASK_STATE_CANCELED", "\(subscriber)")
        #expect(try await lingering.value == 1, "the worker saw its task canceled")
        #expect(seen["cancel_again"] as? String == "TaskNotCancelableError")

        #expect(seen["unknown_task"] as? String == "TaskNotFoundError")
        #expect(seen["someone_elses_task"] as? String == "TaskNotFoundError")
        #expect(try await gateway.client.task(other.id, waitMs: 0).state == .completed, "the API's task is untouched")
        #expect((seen["without_token"] as? String)?.contains("401") == true, "\(seen["without_token"] ?? "")")
        #expect(seen["without_token_status"] as? Int == 401)
        let errors = seen["errors"] as? [String: [String: Any]] ?? [:]
        let expected = [
            "malformed": -32700, "not_jsonrpc": -32600, "unknown_method": -32601, "old_version": -32009, "no_version": -32009,
            "bad_params": -32602, "no_skill": -32602, "oversize": -32600, "push": -32003,
        ]
        for (name, code) in expected {
            #expect(errors[name]?["status"] as? Int == 200 && errors[name]?["code"] as? Int == code, "\(name): \(errors[name] ?? [:])")
        }
        #expect(errors["unknown_method"]?["id"] as? String == "x", "the request's id is echoed")
        #expect(seen["still_answers"] as? String == "TASK_STATE_COMPLETED")

        // The HTTP+JSON binding: the SDK's REST transport, and raw requests.
        let rest = seen["rest"] as? [String: Any] ?? [:]
        #expect((rest["stream_kinds"] as? [String])?.first == "task" && rest["stream_last"] as? String == "TASK_STATE_COMPLETED", "\(rest)")
        #expect(rest["blocking_state"] as? String == "TASK_STATE_COMPLETED" && rest["artifact_texts"] as? [String] == ["echo: rest blocking"])
        #expect(rest["fetched_state"] as? String == "TASK_STATE_COMPLETED" && rest["unknown_task"] as? String == "TaskNotFoundError")
        #expect((rest["raw_get"] as? [String: Any])?["status"] as? Int == 200)
        #expect((rest["raw_unknown"] as? [String: Any])?["status"] as? Int == 404 && (rest["raw_unknown"] as? [String: Any])?["error_status"] as? String == "NOT_FOUND")
        #expect(rest["raw_no_version"] as? Int == 400)
        for node in [gateway, workers, relay] { _ = try await node.stop() }
    }

    /// Beyond loopback the gateway needs a configured token and the node will not start
    /// without one; a token from PLEXUS_A2A_TOKEN is the one the gateway takes.
    @Test func aTokenIsRequiredAndTheConfiguredOneIsUsed() async throws {
        let directory = try MeshTests.directory()
        let refused = try await runPlexus(
            ["serve", "--data", directory.path, "--api", "127.0.0.1:0", "--listen", "off", "--a2a", "0.0.0.0:0"], home: directory.path,
            timeout: .seconds(30))
        #expect(refused.status != 0 && refused.stderr.contains("needs a token"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("a2a.addr").path))

        let token = "a2a-test-token-\(UUID().uuidString)"
        let node = try await ServeProcess(directory: directory, arguments: ["--a2a", "127.0.0.1:0"], environment: ["PLEXUS_A2A_TOKEN": token])
        let base = "http://\(try await Self.address(node))"
        #expect(!FileManager.default.fileExists(atPath: directory.file("a2a.token").path), "no token file is made when one is given")
        func post(_ bearer: String) async throws -> (UInt, String) {
            var request = HTTPClientRequest(url: base + "/")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(bearer)")
            request.headers.add(name: "A2A-Version", value: "1.0")
            request.body = .bytes(ByteBuffer(string: #"{"jsonrpc":"2.0","id":1,"method":"ListTasks","params":{}}"#))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 20)
            return (response.status.code, String(buffer: body))
        }
        let (okStatus, okBody) = try await post(token)
        #expect(okStatus == 200 && okBody.contains(#""tasks":[]"#), "\(okBody)")
        let (wrongStatus, _) = try await post("not-the-token")
        #expect(wrongStatus == 401)
        _ = try await node.stop()
    }

    /// With a certificate and key the gateway speaks HTTPS (checked with curl trusting only
    /// that certificate), and the card names an https endpoint; plain HTTP gets no answer.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") && FileManager.default.isExecutableFile(atPath: "/usr/bin/curl")))
    func withACertificateTheGatewaySpeaksHTTPS() async throws {
        let directory = try MeshTests.directory()
        let (certificate, key) = (directory.file("cert.pem").path, directory.file("key.pem").path)
        func run(_ executable: String, _ arguments: [String]) async throws -> CLIResult {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            return try await runCapturing(process, home: directory.path, timeout: .seconds(30))
        }
        let made = try await run("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", certificate,
            "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ])
        #expect(made.status == 0, "\(made.stderr)")
        try Data("a2a:\n  tls_certificate: \(certificate)\n  tls_key: \(key)\n".utf8).write(to: directory.file("config.yaml"))
        let node = try await ServeProcess(directory: directory, arguments: ["--a2a", "127.0.0.1:0"])
        let address = try await Self.address(node)
        let card = try await run("/usr/bin/curl", ["-sS", "--max-time", "10", "--cacert", certificate, "https://\(address)/.well-known/agent-card.json"])
        let json = (try? JSONSerialization.jsonObject(with: Data(card.stdout.utf8))) as? [String: Any] ?? [:]
        let url = ((json["supportedInterfaces"] as? [[String: Any]])?.first?["url"] as? String) ?? ""
        #expect(card.status == 0 && url == "https://\(address)/", "\(card.stdout) \(card.stderr)")
        let plain = try await run("/usr/bin/curl", ["-sS", "--max-time", "10", "http://\(address)/.well-known/agent-card.json"])
        #expect(plain.status != 0 || !plain.stdout.contains("supportedInterfaces"), "plain HTTP was answered: \(plain.stdout)")
        _ = try await node.stop()
    }
}
