import Foundation
import Logging
import NIOCore
import NIOPosix
import PlexusCore
import PlexusProtocol
import Testing
@testable import PlexusNet

/// Connection managers talking over real TCP on 127.0.0.1.
@Suite struct ConnectionManagerTests {
    static func manager(_ key: AgentKey = AgentKey(), network: String = "test-net", configure: (inout MeshConfig) -> Void = { _ in }) -> ConnectionManager {
        // Generous handshake timeout: these tests are about behaviour, not a loaded machine's speed.
        var config = MeshConfig(listenHost: "127.0.0.1", listenPort: 0, networkKey: network, handshakeTimeout: .seconds(30))
        configure(&config)
        return ConnectionManager(identity: key, config: config, logger: Logger(label: "test"))
    }

    static func split(_ address: String?) throws -> (String, Int) {
        let text = try #require(address)
        let colon = try #require(text.lastIndex(of: ":"))
        return (String(text[..<colon]), try #require(Int(text[text.index(after: colon)...])))
    }

    /// The first `count` events of a stream, or fewer if they do not come within `within`.
    static func first(_ count: Int, of stream: MeshEventStream, within: Duration = .seconds(10)) async -> [MeshEvent] {
        await withTaskGroup(of: [MeshEvent]?.self) { group in
            group.addTask {
                var events: [MeshEvent] = []
                for await event in stream {
                    events.append(event)
                    if events.count == count { break }
                }
                return events
            }
            group.addTask {
                try? await Task.sleep(for: within)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? []
        }
    }

    /// Waits for a condition with a deadline (the mesh is asynchronous; this is not a
    /// sleep hoping for timing but a bounded wait for a stated state).
    static func eventually(_ what: String, within: Duration = .seconds(10), _ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + within
        while ContinuousClock.now < deadline {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("timed out waiting for: \(what)")
    }

    @Test func twoNodesConnectAndSeeEachOthersIdentity() async throws {
        let aKey = AgentKey()
        let bKey = AgentKey()
        let a = Self.manager(aKey)
        let b = Self.manager(bKey)
        _ = try await a.start()
        let (host, port) = try Self.split(try await b.start())
        let info = try await a.connect(host: host, port: port, expectedPeer: bKey.id)
        #expect(info.agentID == bKey.id)
        #expect(info.direction == .outbound)
        try await Self.eventually("b registers a") { await b.peers().first?.agentID == aKey.id }
        #expect(await b.peers().first?.direction == .inbound)
        await a.shutdown()
        await b.shutdown()
    }

    /// Frames reach the subsystem that registered their channel, in order with peer events;
    /// a frame on a channel nobody consumes is dropped and counted.
    @Test func framesGoToTheChannelTheirConsumerRegistered() async throws {
        let aKey = AgentKey()
        let bKey = AgentKey()
        let a = Self.manager(aKey)
        let b = Self.manager(bKey)
        let echoes = b.register([.message("echo")], peerEvents: true)
        let tasks = b.register([.task])
        let (host, port) = try Self.split(try await b.start())
        try await a.connect(host: host, port: port, expectedPeer: bKey.id)
        func message(_ channel: String, _ text: String) -> Plexus_Frame {
            .with { $0.message = .with { $0.channel = channel; $0.payload = Data(text.utf8) } }
        }
        #expect(a.send([message("unheard", "lost"), message("echo", "one"), message("echo", "two")], to: bKey.id))
        let seen = await Self.first(3, of: echoes).map { event in
            switch event {
            case .peerUp(let peer, _, _): "up \(peer == aKey.id)"
            case .frame(_, let frame): String(decoding: frame.message.payload, as: UTF8.self)
            case .peerDown: "down"
            }
        }
        #expect(seen == ["up true", "one", "two"])
        #expect(b.counters.snapshot.framesUnconsumed == 1)
        // The task channel's consumer heard nothing of the messages: its first frame is the task.
        #expect(a.send([.with { $0.task = .with { $0.id = Data(repeating: 1, count: 16); $0.cancel = true } }], to: bKey.id))
        let task = await Self.first(1, of: tasks).first
        guard case .frame(_, let frame)? = task else {
            Issue.record("no task frame arrived")
            return
        }
        #expect(frame.task.cancel)
        await a.shutdown()
        await b.shutdown()
    }

    @Test func keepaliveMeasuresRoundTripTime() async throws {
        let a = Self.manager { $0.keepaliveInterval = .milliseconds(50) }
        let bKey = AgentKey()
        let b = Self.manager(bKey)
        let (host, port) = try Self.split(try await b.start())
        try await a.connect(host: host, port: port)
        try await Self.eventually("an RTT is measured") { await a.peers().first?.rttMs != nil }
        let info = try #require(await a.peers().first)
        #expect(info.framesOut >= 1)
        #expect(info.bytesIn > 0 && info.bytesOut > 0)
        await a.shutdown()
        await b.shutdown()
    }

    @Test func wrongNetworkKeyFailsTheHandshake() async throws {
        let a = Self.manager(network: "one")
        let b = Self.manager(network: "two")
        let (host, port) = try Self.split(try await b.start())
        await #expect(throws: HandshakeError.noise(.decryptionFailed)) { try await a.connect(host: host, port: port) }
        try await Self.eventually("b counts the failure") { (b.counters.snapshot.closed.values.reduce(0, +)) >= 1 }
        #expect(await b.peers().isEmpty)
        await a.shutdown()
        await b.shutdown()
    }

    @Test func pinningTheWrongIdentityFails() async throws {
        let a = Self.manager()
        let b = Self.manager()
        let (host, port) = try Self.split(try await b.start())
        let stranger = AgentKey().id
        await #expect(throws: HandshakeError.self) { try await a.connect(host: host, port: port, expectedPeer: stranger) }
        #expect(await a.peers().isEmpty)
        await a.shutdown()
        await b.shutdown()
    }

    @Test func simultaneousDialsLeaveOneConnection() async throws {
        let aKey = AgentKey()
        let bKey = AgentKey()
        let a = Self.manager(aKey)
        let b = Self.manager(bKey)
        let (aHost, aPort) = try Self.split(try await a.start())
        let (bHost, bPort) = try Self.split(try await b.start())
        async let ab: Void = { _ = try? await a.connect(host: bHost, port: bPort) }()
        async let ba: Void = { _ = try? await b.connect(host: aHost, port: aPort) }()
        _ = await (ab, ba)
        try await Self.eventually("one connection each, same dialler") {
            let aPeers = await a.peers()
            let bPeers = await b.peers()
            return aPeers.count == 1 && bPeers.count == 1 && aPeers[0].direction != bPeers[0].direction
        }
        // The survivor is the connection dialled by the smaller agent id.
        let expectedDialler = min(aKey.id, bKey.id)
        let aSide = try #require(await a.peers().first)
        #expect((aSide.direction == .outbound ? aKey.id : bKey.id) == expectedDialler)
        await a.shutdown()
        await b.shutdown()
    }
}
