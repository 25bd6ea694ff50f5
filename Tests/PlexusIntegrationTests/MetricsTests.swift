import AsyncHTTPClient
import Foundation
import NIOHTTP1
import PlexusCore
import Testing

/// `/metrics` on real nodes: what the nodes do shows up in the Prometheus exposition.
@Suite(.serialized) struct MetricsTests {
    /// Fetches `/metrics` and reads each sample line `name{labels} value` into a dictionary.
    static func scrape(_ node: ServeProcess) async throws -> [String: Double] {
        var request = HTTPClientRequest(url: "http://\(node.apiAddress)/metrics")
        request.headers.add(name: "Authorization", value: "Bearer \(node.token)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        #expect(response.status == .ok)
        #expect(response.headers.first(name: "Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        let text = String(buffer: try await response.body.collect(upTo: 4 << 20))
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    @Test func entriesPeersFramesAndAPIErrorsAreCounted() async throws {
        let a = try await ServeProcess(directory: try MeshTests.directory())
        let b = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", a.meshAddress])
        let entry = try await a.client.publish(PublishRequest(content: .object(["text": .string("counted")])))
        try await MeshTests.eventually("b stores a's entry") { (try? await b.client.entry(entry.id)) != nil }
        let notFoundBefore = try await Self.scrape(b)[#"plexus_api_errors_total{code="notFound"}"#] ?? 0
        _ = try? await b.client.entry(try EntryID.parse(String(repeating: "0", count: 64)))  // one more notFound

        let onA = try await Self.scrape(a)
        #expect(onA["plexus_entries_published_total"] == 1)
        #expect(onA["plexus_peers"] == 1)
        #expect((onA[#"plexus_entries_sent_total{via="push"}"#] ?? 0) + (onA[#"plexus_entries_sent_total{via="sync"}"#] ?? 0) >= 1)
        #expect((onA[#"plexus_frames_total{direction="out"}"#] ?? 0) > 0)
        #expect(onA[#"plexus_api_requests_total{route="/v1/publish",method="POST",status="201"}"#] == 1)

        let onB = try await Self.scrape(b)
        #expect(onB[#"plexus_entries_in_total{outcome="stored"}"#] == 1)
        #expect(onB["plexus_store_entries"] == 1)
        #expect((onB[#"plexus_frames_total{direction="in"}"#] ?? 0) > 0)
        #expect((onB[#"plexus_gossip_messages_total{direction="in",kind="push"}"#] ?? 0) + (onB[#"plexus_gossip_messages_total{direction="in",kind="batch"}"#] ?? 0) >= 1)
        #expect(onB[#"plexus_api_errors_total{code="notFound"}"#] == notFoundBefore + 1)
        #expect((onB[#"plexus_api_request_duration_seconds_count{route="/v1/entries/{id}",method="GET"}"#] ?? 0) >= 1)
        // The CLI reads the same exposition.
        let cli = try await runPlexus(["metrics", "--data", b.directory.path, "--json"], home: b.directory.path)
        #expect(cli.status == 0, "\(cli.stderr)")
        #expect(try cli.json()[#"plexus_entries_in_total{outcome="stored"}"#] as? Double == 1)
        for node in [a, b] { _ = try await node.stop() }
    }

    /// A webhook that is down costs bounded tries per entry and is counted; the node serves on.
    @Test func aWebhookThatIsDownIsContainedAndCounted() async throws {
        let directory = try MeshTests.directory()
        try """
            hooks:
              webhook: http://127.0.0.1:1/down
              webhook_attempts: 2
              webhook_timeout_ms: 500
            """.write(to: directory.file("config.yaml"), atomically: true, encoding: .utf8)
        let b = try await ServeProcess(directory: directory)
        let a = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", b.meshAddress])
        for index in 0..<3 {
            _ = try await a.client.publish(PublishRequest(content: .object(["n": .integer(Int64(index))])))
        }
        try await MeshTests.eventually("every entry was tried twice and given up", within: .seconds(30)) {
            try await Self.scrape(b)[#"plexus_webhook_entries_total{outcome="failed"}"#] == 3
        }
        let samples = try await Self.scrape(b)
        #expect(samples["plexus_webhook_retries_total"] == 3)
        #expect(samples[#"plexus_webhook_entries_total{outcome="delivered"}"#] ?? 0 == 0)
        #expect(try await b.client.status().store.entries == 3)
        for node in [a, b] { _ = try await node.stop() }
    }
}
