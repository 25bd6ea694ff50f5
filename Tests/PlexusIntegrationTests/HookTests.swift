import Foundation
import PlexusClient
import PlexusCore
import Testing

/// Hook commands on real nodes: entries from other agents reach them on stdin, never
/// through a shell; a hanging command is killed and their number bounded.
@Suite(.serialized) struct HookTests {
    static let interop = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("interop")

    static func lines(_ url: URL) -> [String] {
        ((try? String(contentsOf: url, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func aHookCommandGetsArrivingEntriesOnStdinAndNoShellSeesThem() async throws {
        let directory = try MeshTests.directory()
        let output = directory.file("hook.jsonl")
        let pwned = directory.file("pwned")
        let script = Self.interop.appendingPathComponent("hook_append.py").path
        let b = try await ServeProcess(directory: directory, arguments: ["--hook-on-entry", "python3 '\(script)' '\(output.path)'"])
        let a = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", b.meshAddress])

        let hostile = "$(touch \(pwned.path)); `touch \(pwned.path)`"
        let entry = try await a.client.publish(PublishRequest(content: .object(["text": .string(hostile)])))
        let own = try await b.client.publish(PublishRequest(content: .object(["text": .string("mine")])))
        try await MeshTests.eventually("the hook wrote a's entry") {
            Self.lines(output).contains { $0.contains(entry.id.hex) }
        }
        // A later entry of a's arriving after b's own shows b's own did not run the hook.
        let later = try await a.client.publish(PublishRequest(content: .object(["text": .string("later")])))
        try await MeshTests.eventually("the hook wrote the later entry") {
            Self.lines(output).contains { $0.contains(later.id.hex) }
        }
        let written = Self.lines(output)
        #expect(!written.contains { $0.contains(own.id.hex) })
        #expect(written.first { $0.contains(entry.id.hex) }?.contains("touch") == true)
        #expect(!FileManager.default.fileExists(atPath: pwned.path))
        for node in [a, b] { _ = try await node.stop() }
    }

    /// History a joining node fetches runs no hook by default (DirectoryTests checks that);
    /// with `hooks: backfill: true` it does.
    @Test func withBackfillHistoryFetchedOnJoiningRunsTheHook() async throws {
        let a = try await ServeProcess(directory: try MeshTests.directory())
        let history = try await a.client.publish(PublishRequest(content: .object(["text": .string("old news")])))
        let directory = try MeshTests.directory(extra: "hooks:\n  backfill: true\n")
        let output = directory.file("hook.jsonl")
        let script = Self.interop.appendingPathComponent("hook_append.py").path
        let b = try await ServeProcess(
            directory: directory, arguments: ["--peer", a.meshAddress, "--hook-on-entry", "python3 '\(script)' '\(output.path)'"])
        try await MeshTests.eventually("the hook ran for the history") {
            Self.lines(output).contains { $0.contains(history.id.hex) }
        }
        for node in [b, a] { _ = try await node.stop() }
    }

    @Test func aHangingHookIsKilledAndBoundedWhileTheNodeServes() async throws {
        let directory = try MeshTests.directory(extra: "hooks:\n  timeout_ms: 300\n  concurrency: 2\n")
        let b = try await ServeProcess(directory: directory, arguments: ["--hook-on-entry", "sleep 60"])
        let a = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", b.meshAddress])
        var ids: [EntryID] = []
        for index in 0..<8 {
            ids.append(try await a.client.publish(PublishRequest(content: .object(["n": .integer(Int64(index))]))).id)
        }
        let pid = b.process.processIdentifier
        var most = 0
        try await MeshTests.eventually("every entry arrived") {
            most = max(most, Self.children(of: pid, named: "sleep"))
            return try await b.client.status().store.entries >= ids.count
        }
        // While hooks hang, at most `concurrency` run; all are gone once the timeouts pass.
        try await MeshTests.eventually("the hanging commands are killed", within: .seconds(20)) {
            let now = Self.children(of: pid, named: "sleep")
            most = max(most, now)
            return now == 0
        }
        #expect(most <= 2)
        #expect(try await b.client.status().store.entries == ids.count)
        for node in [a, b] { _ = try await node.stop() }
    }

    /// Child processes of `pid` whose command name is `name`.
    static func children(of pid: Int32, named name: String) -> Int {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return 0 }
        var count = 0
        for entry in entries where Int32(entry) != nil {
            guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
            else { continue }
            let command = stat[stat.index(after: open)..<close]
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            if command == name, fields.count > 1, Int32(fields[1]) == pid, fields[0] != "Z" { count += 1 }
        }
        return count
    }

    /// Starts `webhook_receiver.py`; returns the process and its URL.
    static func startReceiver(in directory: TempDirectory, failFirst: Int, secret: String) async throws -> (Process, String, URL) {
        let portFile = directory.file("receiver.port")
        let log = directory.file("receiver.jsonl")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.interop.appendingPathComponent("webhook_receiver.py").path, portFile.path, log.path, "\(failFirst)", secret]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var port = ""
        try await MeshTests.eventually("the receiver listens") {
            port = (try? String(contentsOf: portFile, encoding: .utf8)) ?? ""
            return !port.isEmpty
        }
        return (process, "http://127.0.0.1:\(port)/hook", log)
    }

    static func records(_ url: URL) -> [[String: Any]] {
        lines(url).compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test func aWebhookGetsArrivingEntriesSignedAndRetriedUntilAccepted() async throws {
        let directory = try MeshTests.directory()
        let (receiver, url, log) = try await Self.startReceiver(in: directory, failFirst: 2, secret: "s3cret")
        defer {
            // SIGKILL: the test runner's children may inherit a mask that blocks SIGTERM.
            kill(receiver.processIdentifier, SIGKILL)
            receiver.waitUntilExit()
        }
        let b = try await ServeProcess(directory: directory, arguments: ["--webhook", url], environment: ["PLEXUS_WEBHOOK_SECRET": "s3cret"])
        let a = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", b.meshAddress])

        _ = try await b.client.publish(PublishRequest(content: .object(["text": .string("b's own: not sent")])))
        let entry = try await a.client.publish(PublishRequest(content: .object(["text": .string("from a")])))
        try await MeshTests.eventually("the webhook accepted a's entry") {
            Self.records(log).contains { $0["status"] as? Int == 200 }
        }
        let records = Self.records(log)
        // Two 503s, then the same entry again: retried until accepted, and nothing else sent.
        #expect(records.map { $0["status"] as? Int } == [503, 503, 200])
        for record in records {
            #expect((record["body"] as? [String: Any])?["id"] as? String == entry.id.hex)
            let headers = record["headers"] as? [String: String] ?? [:]
            #expect(headers["x-plexus-delivery"] == entry.id.hex)
            #expect(headers["content-type"] == "application/json")
            #expect(record["signature_ok"] as? Bool == true)
        }
        for node in [a, b] { _ = try await node.stop() }
    }

    /// `hooks: on_message` and `message_webhook`: each direct message taken into the inbox
    /// reaches the command and the webhook with its content opened; a quarantined message
    /// and the node's own do not.
    @Test func messageHooksGetDirectMessagesTakenIntoTheInbox() async throws {
        let directory = try MeshTests.directory()
        let (receiver, url, log) = try await Self.startReceiver(in: directory, failFirst: 0, secret: "s3cret")
        defer {
            kill(receiver.processIdentifier, SIGKILL)
            receiver.waitUntilExit()
        }
        let output = directory.file("hook.jsonl")
        let script = Self.interop.appendingPathComponent("hook_append.py").path
        try Data("""
            mesh:
              handshake_timeout_ms: 10000
            trust:
              messages_from: known
            hooks:
              on_message: "python3 '\(script)' '\(output.path)'"
              message_webhook: \(url)
              webhook_secret: s3cret

            """.utf8).write(to: directory.file("config.yaml"))
        let b = try await ServeProcess(directory: directory, announce: true)
        let a = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", b.meshAddress], announce: true)
        let c = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", b.meshAddress], announce: true)
        let aID = try await a.client.identity().agentID
        let bID = try await b.client.identity().agentID
        _ = try await b.client.addContact(ContactRequest(agent: aID, trust: .known))
        for sender in [a, c] {
            try await MeshTests.eventually("the sender knows B") { (try? await sender.client.agent(bID)) != nil }
        }
        try await MeshTests.eventually("B knows A") { (try? await b.client.agent(aID)) != nil }

        let quarantined = try await c.client.sendDirect(DirectSendRequest(to: bID, content: .object(["text": .string("from a stranger")]), waitMs: 20_000))
        #expect(quarantined.state == .delivered)
        let own = try await b.client.sendDirect(DirectSendRequest(to: aID, content: .object(["text": .string("b's own")]), waitMs: 20_000))
        #expect(own.state == .delivered)
        let taken = try await a.client.sendDirect(DirectSendRequest(to: bID, content: .object(["text": .string("hello, hooks")]), waitMs: 20_000))
        #expect(taken.state == .delivered)
        try await MeshTests.eventually("the hook command and the webhook got A's message") {
            Self.lines(output).contains { $0.contains(taken.id.description) } && Self.records(log).contains { $0["status"] as? Int == 200 }
        }
        let hooked = Self.lines(output)
        #expect(hooked.count == 1 && hooked.first?.contains("hello, hooks") == true, "\(hooked)")
        let records = Self.records(log)
        #expect(records.count == 1, "\(records)")
        let record = try #require(records.first)
        let headers = record["headers"] as? [String: String] ?? [:]
        #expect(headers["x-plexus-event"] == "dm" && headers["x-plexus-delivery"] == taken.id.description)
        #expect(record["signature_ok"] as? Bool == true)
        let body = record["body"] as? [String: Any] ?? [:]
        #expect(body["peer"] as? String == aID.base32 && (body["content"] as? [String: Any])?["text"] as? String == "hello, hooks")
        for node in [a, c, b] { _ = try await node.stop() }
    }
}
