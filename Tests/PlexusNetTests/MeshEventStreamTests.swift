import PlexusCore
import Testing
@testable import PlexusNet

/// The bounded, single-consumer stream the mesh channel registry hands frames through.
@Suite struct MeshEventStreamTests {
    static let peers = (0..<8).map { _ in AgentKey().id }

    static func ids(_ events: [MeshEvent]) -> [AgentID] {
        events.compactMap { event in
            if case .peerDown(let peer) = event { return peer }
            return nil
        }
    }

    /// Reads every event until the stream ends.
    static func drain(_ stream: MeshEventStream) async -> [MeshEvent] {
        var events: [MeshEvent] = []
        for await event in stream { events.append(event) }
        return events
    }

    @Test func buffersInOrderAndEndsAfterTheBufferIsRead() async {
        let stream = MeshEventStream(capacity: 16)
        for peer in Self.peers { #expect(stream.yield(.peerDown(peer)) == .enqueued) }
        stream.finish()
        #expect(stream.yield(.peerDown(Self.peers[0])) == .terminated)
        #expect(Self.ids(await Self.drain(stream)) == Self.peers)
    }

    @Test func dropsBeyondItsCapacityAndTakesMoreOnceRead() async {
        let stream = MeshEventStream(capacity: 3)
        let results = Self.peers.prefix(5).map { stream.yield(.peerDown($0)) }
        #expect(results == [.enqueued, .enqueued, .enqueued, .dropped, .dropped])
        var iterator = stream.makeAsyncIterator()
        let first = await iterator.next()
        #expect(first.map { Self.ids([$0]) } == [Self.peers[0]])
        #expect(stream.yield(.peerDown(Self.peers[5])) == .enqueued)
        stream.finish()
        var rest: [MeshEvent] = []
        while let event = await iterator.next() { rest.append(event) }
        #expect(Self.ids(rest) == [Self.peers[1], Self.peers[2], Self.peers[5]])
    }

    /// A consumer waiting on an empty stream gets events yielded later from other tasks,
    /// all of them and in order.
    @Test func aWaitingConsumerGetsWhatIsYieldedLater() async {
        let count = 2_000
        let stream = MeshEventStream(capacity: count)
        let consumer = Task { await Self.drain(stream) }
        for index in 0..<count {
            #expect(stream.yield(.peerDown(Self.peers[index % Self.peers.count])) == .enqueued)
            if index % 64 == 0 { await Task.yield() }
        }
        stream.finish()
        let events = await consumer.value
        #expect(Self.ids(events) == (0..<count).map { Self.peers[$0 % Self.peers.count] })
    }

    /// Cancelling the consumer while it waits ends its loop (as with AsyncStream), and the
    /// stream takes nothing after that.
    @Test func cancellingTheWaitingConsumerEndsTheStream() async {
        let stream = MeshEventStream(capacity: 4)
        let started = MeshEventStream(capacity: 1)
        let consumer = Task {
            started.yield(.peerDown(Self.peers[0]))
            return await Self.drain(stream)
        }
        var signal = started.makeAsyncIterator()
        _ = await signal.next()
        consumer.cancel()
        // Bounded: a stream that ignored the cancel would leave the consumer waiting.
        let ended = await withTaskGroup(of: [MeshEvent]?.self) { group in
            group.addTask { await consumer.value }
            group.addTask {
                try? await Task.sleep(for: .seconds(10))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        #expect(ended?.isEmpty == true)
        #expect(stream.yield(.peerDown(Self.peers[1])) == .terminated)
    }
}
