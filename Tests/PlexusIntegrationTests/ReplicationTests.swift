import Foundation
import PlexusClient
import PlexusCore
import Testing

/// Entries spreading between real `plexus serve` processes over the gossip layer.
@Suite(.serialized) struct ReplicationTests {
    @Test func entriesPublishedAtEitherEndOfALineReachEveryNode() async throws {
        // a - b - c - d - e: each node knows only the previous one.
        var nodes: [ServeProcess] = []
        for index in 0..<5 {
            let arguments = index == 0 ? [] : ["--peer", nodes[index - 1].meshAddress]
            nodes.append(try await ServeProcess(directory: try MeshTests.directory(), arguments: arguments))
        }
        let first = try await nodes[0].client.publish(PublishRequest(content: .object(["text": .string("from the first node")])))
        let last = try await nodes[4].client.publish(PublishRequest(content: .object(["text": .string("from the last node")])))

        try await MeshTests.eventually("both entries on every node", within: .seconds(30)) {
            for node in nodes {
                let ids = Set(try await node.client.feed(limit: 100).entries.map(\.id))
                guard ids.contains(first.id), ids.contains(last.id) else { return false }
            }
            return true
        }
        // What arrived was verified and stored as the author signed it, and is searchable.
        let copy = try await nodes[4].client.entry(first.id.hex)
        #expect(copy.signature == first.signature && copy.author == first.author)
        #expect(try await nodes[2].client.search("last").hits.map(\.entry.id) == [last.id])
        for node in nodes { _ = try await node.stop() }
    }
}
