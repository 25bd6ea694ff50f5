import AsyncHTTPClient
import Foundation
import PlexusClient
import PlexusCore
import Testing

/// A real `plexus serve` process driven through the CLI and its HTTP API.
@Suite struct ServeTests {
    @Test func firstServeCreatesAnIdentityWithPrivateFilesAndAnswersHealth() async throws {
        let directory = try TempDirectory()
        let node = try await ServeProcess(directory: directory)
        for name in ["identity.json", "api.token"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: directory.file(name).path)
            #expect((attributes[.posixPermissions] as? Int) == 0o600, "\(name) must be 0600")
        }
        #expect(try await node.client.health()["status"] == "ok")
        let id = try await runPlexus(["id", "--data", directory.path], home: directory.path)
        #expect(id.status == 0)
        #expect(try await node.client.identity().agentID.base32 == id.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(try await node.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: directory.file("api.addr").path))
    }

    @Test func cliPublishFeedSearchAndGetRoundTrip() async throws {
        let directory = try TempDirectory()
        let node = try await ServeProcess(directory: directory)
        let data = ["--data", directory.path]

        let first = try await runPlexus(
            ["publish"] + data + ["--json", "--topic", "research", "--tag", "swift", "--tag", "p2p",
                                  #"{"title":"Backpressure","text":"Bounded queues keep memory flat under load"}"#],
            home: directory.path)
        #expect(first.status == 0, "\(first.stderr)")
        let firstID = try #require(try first.json()["id"] as? String)

        let reply = try await runPlexus(
            ["publish"] + data + ["--json", "--type", "response", "--ref", firstID, "-"], home: directory.path,
            stdin: #"{"text":"Agreed: credit-based flow control too"}"#)
        #expect(reply.status == 0, "\(reply.stderr)")
        #expect(try reply.json()["seq"] as? Int == 2)
        #expect(try reply.json()["prev"] as? String == firstID)

        let feed = try await runPlexus(["feed"] + data + ["--json", "--tag", "p2p"], home: directory.path)
        let entries = try #require(try feed.json()["entries"] as? [[String: Any]])
        #expect(entries.map { $0["id"] as? String } == [firstID])

        let search = try await runPlexus(["search"] + data + ["--json", "queue"], home: directory.path)
        let hits = try #require(try search.json()["hits"] as? [[String: Any]])
        #expect(hits.compactMap { ($0["entry"] as? [String: Any])?["id"] as? String } == [firstID])

        let get = try await runPlexus(["get"] + data + [firstID], home: directory.path)
        #expect(get.status == 0)
        #expect(get.stdout.contains("Bounded queues keep memory flat under load"))
        #expect(get.stdout.contains("#swift #p2p"))

        let thread = try await runPlexus(["thread"] + data + ["--json", firstID], home: directory.path)
        #expect((try thread.json()["entries"] as? [[String: Any]])?.count == 2)

        let since = try await runPlexus(["feed"] + data + ["--json", "--since", "1"], home: directory.path)
        #expect((try since.json()["entries"] as? [[String: Any]])?.count == 1)
        _ = try await node.stop()
    }

    @Test func cliRefusesBadInputWithClearMessagesAndExitCodes() async throws {
        let directory = try TempDirectory()
        let node = try await ServeProcess(directory: directory)
        let data = ["--data", directory.path]

        let array = try await runPlexus(["publish"] + data + ["[1,2,3]"], home: directory.path)
        #expect(array.status == 1)
        #expect(array.stderr.contains("content must be a JSON object"))
        #expect(array.stderr.contains("invalidContent"))

        let broken = try await runPlexus(["publish"] + data + ["{not json"], home: directory.path)
        #expect(broken.status == 1)
        #expect(broken.stderr.contains("invalidJSON"))

        let missing = try await runPlexus(["get"] + data + ["--json", String(repeating: "ab", count: 32)], home: directory.path)
        #expect(missing.status == 1)
        #expect(try missing.json()["ok"] as? Bool == false)
        #expect((try missing.json()["error"] as? [String: Any])?["code"] as? String == "notFound")

        let badID = try await runPlexus(["get"] + data + ["xyz"], home: directory.path)
        #expect(badID.status == 1)
        #expect(badID.stderr.contains("not an entry id"))

        #expect(try await node.client.status().store.entries == 0)
        _ = try await node.stop()
    }

    @Test func publishManyPublishesJSONLinesInBatchesAndNamesTheLineThatFails() async throws {
        let directory = try TempDirectory()
        let node = try await ServeProcess(directory: directory)
        let data = ["--data", directory.path]
        // Seven lines and a blank one, in batches of three: three requests, seqs 1-7 in order.
        let lines = (1...7).map { #"{"content":{"text":"line \#($0)"},"topic":"bulk","tags":["l\#($0)"]}"# }
        let many = try await runPlexus(
            ["publish-many"] + data + ["--batch-size", "3", "-"], home: directory.path,
            stdin: lines[0..<4].joined(separator: "\n") + "\n\n" + lines[4...].joined(separator: "\n") + "\n")
        #expect(many.status == 0, "\(many.stderr)")
        #expect(many.stdout.contains("published 7 entries (seq 1-7)"))
        let feed = try await node.client.feed(topic: "bulk", limit: 10).entries
        #expect(feed.map(\.tags) == (1...7).reversed().map { ["l\($0)"] })

        // A malformed line: nothing is sent. An entry the node refuses: its line is named,
        // the batches before it stay.
        let typo = try await runPlexus(["publish-many"] + data + ["-"], home: directory.path, stdin: lines[0] + "\n" + #"{"content":{},"tag":"x"}"#)
        #expect(typo.status == 1)
        #expect(typo.stderr.contains("line 2: unknown field 'tag'"), "\(typo.stderr)")
        #expect(try await node.client.status().store.entries == 7)
        let late = [lines[0], lines[1], #"{"content":{"text":"late"},"expires_ms":1}"#].joined(separator: "\n")
        let refused = try await runPlexus(["publish-many"] + data + ["--batch-size", "2", "-"], home: directory.path, stdin: late)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("line 3: expires_ms 1 is already in the past"), "\(refused.stderr)")
        #expect(refused.stderr.contains("2 entries before it were published"))
        #expect(try await node.client.status().store.entries == 9)
        _ = try await node.stop()
    }

    @Test func commandsWithoutARunningNodeSaySoPlainly() async throws {
        let directory = try TempDirectory()
        _ = try await runPlexus(["init", "--data", directory.path], home: directory.path)
        let feed = try await runPlexus(["feed", "--data", directory.path], home: directory.path)
        #expect(feed.status == 1)
        #expect(feed.stderr.contains("no node is running"))
        #expect(feed.stderr.contains("plexus serve"))
        #expect(!feed.stderr.contains("Fatal error"))

        // A stale api.addr from a node that died: still a clear message, not a crash.
        try Data("127.0.0.1:1\n".utf8).write(to: directory.file("api.addr"))
        let stale = try await runPlexus(["status", "--data", directory.path], home: directory.path)
        #expect(stale.status == 1)
        #expect(stale.stderr.contains("cannot reach the node"))
    }

    @Test func publishedEntriesSurviveARestartAndTheFeedContinues() async throws {
        let directory = try TempDirectory()
        var node = try await ServeProcess(directory: directory)
        var ids: [String] = []
        for index in 1...3 {
            ids.append(try await node.client.publish(PublishRequest(content: .object(["n": .integer(Int64(index))]))).id.hex)
        }
        #expect(try await node.stop(signal: SIGINT) == 0)

        node = try await ServeProcess(directory: directory)
        let page = try await node.client.feed(since: 0)
        #expect(page.entries.map(\.id.hex) == ids)
        let fourth = try await node.client.publish(PublishRequest(content: .object(["n": .integer(4)])))
        #expect(fourth.seq == 4)
        #expect(fourth.prev?.hex == ids[2])
        #expect(try await node.stop() == 0)
    }

    /// Long polls (a worker waiting for a task, a reader waiting for entries) end when the
    /// node is told to stop, instead of holding up its exit until they time out; while it
    /// runs, they do wait.
    @Test func longPollsEndWhenTheNodeStops() async throws {
        let directory = try TempDirectory()
        let node = try await ServeProcess(directory: directory)
        let started = ContinuousClock.now
        #expect(try await node.client.nextTask(capability: "idle", waitMs: 1_500, leaseMs: 30_000) == nil)
        #expect(ContinuousClock.now - started >= .milliseconds(1_400), "a poll with nothing to take waits")

        let client = node.client
        let group = try await client.createGroup(GroupCreateRequest(name: "quiet")).id.hex
        let poll = Task { try await client.nextTask(capability: "idle", waitMs: 30_000, leaseMs: 30_000) }
        let latest = try await client.status().store.latestCursor  // the group's own entries are stored
        let read = Task { try await client.feed(since: latest, waitMs: 30_000) }
        let messages = Task { try await client.directMessages(DirectListRequest(since: 0, waitMs: 30_000)) }
        let groupRead = Task { try await client.groupFeed(group: group, GroupFeedRequest(FeedRequest(since: 0, waitMs: 30_000))) }
        // All are waiting on the node once a short last poll, sent after them, has ended.
        _ = try await node.client.nextTask(capability: "other", waitMs: 300, leaseMs: 30_000)
        let stopping = ContinuousClock.now
        #expect(try await node.stop() == 0)
        #expect(ContinuousClock.now - stopping < .seconds(10), "the node stopped without waiting out the polls")
        #expect(try await poll.value == nil)
        #expect(try await read.value.entries.isEmpty)
        #expect(try await messages.value.messages.isEmpty)
        #expect(try await groupRead.value.entries.isEmpty)
    }

    @Test func aSecondNodeOnTheSameDataDirectoryIsRefused() async throws {
        let directory = try TempDirectory()
        let node = try await ServeProcess(directory: directory)
        let second = try await runPlexus(["serve", "--data", directory.path, "--api", "127.0.0.1:0", "--listen", "127.0.0.1:0"], home: directory.path)
        #expect(second.status == 1)
        #expect(second.stderr.contains("already running"))
        #expect(try await node.client.health()["status"] == "ok")
        _ = try await node.stop()
    }

    /// `--log-format json --log-file F`: standard error and the file both get one JSON object
    /// per line; `--config PATH` reads settings from that file; a bad value or a missing
    /// file stops the node before it starts.
    @Test func logsAsJSONLinesToAFileAndSettingsFromAnotherFile() async throws {
        let directory = try TempDirectory()
        let settings = directory.file("elsewhere.yaml")
        try "log_level: debug\n".write(to: settings, atomically: true, encoding: .utf8)
        let logFile = directory.file("node.log")
        let node = try await ServeProcess(
            directory: directory, arguments: ["--log-format", "json", "--log-file", logFile.path, "--config", settings.path])
        _ = try await node.client.publish(PublishRequest(content: .object(["text": .string("logged")])))
        #expect(try await node.stop() == 0)
        for text in [node.log, try String(contentsOf: logFile, encoding: .utf8)] {
            let lines = text.split(separator: "\n").filter { $0.hasPrefix("{") }
            let events = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(events.count == lines.count && !events.isEmpty)
            #expect(events.contains { $0["message"] as? String == "API listening" && $0["level"] as? String == "notice" })
            // The file's log level came from --config: debug events are there.
            #expect(events.contains { $0["level"] as? String == "debug" })
            #expect(events.allSatisfy { ($0["time"] as? String).flatMap(InternetTime.milliseconds) != nil })
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: logFile.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        for arguments in [["--log-format", "xml"], ["--config", directory.file("missing.yaml").path]] {
            let refused = try await runPlexus(
                ["serve", "--data", directory.path, "--api", "127.0.0.1:0", "--listen", "127.0.0.1:0"] + arguments, home: directory.path)
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("invalidConfig"), "\(refused.stderr)")
        }
    }

    @Test func apiRefusesNonLoopbackAddresses() async throws {
        let directory = try TempDirectory()
        let result = try await runPlexus(["serve", "--data", directory.path, "--api", "0.0.0.0:0", "--listen", "127.0.0.1:0"], home: directory.path)
        #expect(result.status == 1)
        #expect(result.stderr.contains("loopback"))
    }
}
