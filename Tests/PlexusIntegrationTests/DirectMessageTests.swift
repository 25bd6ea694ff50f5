import Foundation
import PlexusClient
import PlexusCore
import Testing

/// Direct messages between real processes: through a relay to an agent that cannot be
/// dialled, to a recipient that is offline (kept and delivered once it is back), refused
/// from a blocked sender, quarantined below `trust: messages_from`; never in plaintext in
/// any node's files.
@Suite(.serialized) struct DirectMessageTests {
    static func text(_ message: DirectMessageView?) -> String? {
        if case .string(let text)? = message?.content?.objectValue?["text"] { return text }
        return nil
    }

    @Test func throughARelayAndToAnOfflineRecipient() async throws {
        let relay = try await ServeProcess(directory: try MeshTests.directory(), announce: true)
        // Neither A nor B listens: they can reach each other only through the relay.
        let a = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--listen", "off", "--peer", relay.meshAddress], announce: true)
        let bDirectory = try MeshTests.directory()
        var b = try await ServeProcess(directory: bDirectory, arguments: ["--listen", "off", "--peer", relay.meshAddress], announce: true)
        let aID = try await a.client.identity().agentID
        let bID = try await b.client.identity().agentID
        let relayID = try await relay.client.identity().agentID
        try await MeshTests.eventually("A knows B's record, naming the relay", within: .seconds(60)) {
            try await a.client.agent(bID).record.relays?.contains(relayID) == true
        }
        #expect(try await a.client.connectedPeers().allSatisfy { $0.agentID != bID }, "A is not connected to B")

        let secret = "meet at the usual place \(UUID().uuidString)"
        let sent = try await a.client.sendDirect(DirectSendRequest(to: bID, content: .object(["text": .string(secret)]), waitMs: 20_000))
        #expect(sent.state == .delivered, "\(sent.state) \(sent.lastError ?? "")")
        let received = try await b.client.directMessages(DirectListRequest(with: aID))
        #expect(received.messages.count == 1 && Self.text(received.messages.first) == secret)
        #expect(received.messages.first?.direction == .incoming && received.messages.first?.state == .received)
        #expect(received.messages.first?.readMs == nil)
        let read = try await b.client.markDirectRead(sent.id)
        #expect(read.readMs != nil)
        let conversation = try #require(try await b.client.conversations().first)
        #expect(conversation.peer == aID && conversation.messages == 1 && conversation.unread == 0)
        #expect(Self.text(try await a.client.directMessage(sent.id)) == secret, "the sender reads its own copy")
        for node in [relay, a, b] {
            #expect(try GroupTests.directoryContains(node.directory.url, Data(secret.utf8)) == false, "plaintext in \(node.directory.path)")
        }

        // B goes offline: the next message waits in A's outbox and arrives once B is back.
        _ = try await b.stop()
        let later = "while you were away \(UUID().uuidString)"
        let pending = try await a.client.sendDirect(DirectSendRequest(to: bID, content: .object(["text": .string(later)]), waitMs: 0))
        #expect(pending.state == .pending)
        b = try await ServeProcess(directory: bDirectory, arguments: ["--listen", "off", "--peer", relay.meshAddress], announce: true)
        try await MeshTests.eventually("the waiting message was delivered", within: .seconds(60)) {
            try await a.client.directMessage(pending.id).state == .delivered
        }
        let both = try await b.client.directMessages(DirectListRequest(with: aID)).messages
        #expect(both.map(Self.text) == [later, secret], "newest first, the first not stored twice")
        #expect(try GroupTests.directoryContains(bDirectory.url, Data(later.utf8)) == false)

        // B blocks A. A's message still reaches B through the relay, and B answers with a
        // signed refusal: A sees it refused, B stores nothing.
        _ = try await b.client.addContact(ContactRequest(agent: aID, trust: .blocked))
        let refused = try await a.client.sendDirect(DirectSendRequest(to: bID, content: .object(["text": .string("blocked?")]), waitMs: 20_000))
        #expect(refused.state == .refused && refused.lastError == "the sender is blocked here", "\(refused.state) \(refused.lastError ?? "")")
        #expect(try await b.client.directMessages(DirectListRequest(with: aID)).messages.count == 2)
        for node in [b, a, relay] { _ = try await node.stop() }
    }

    /// An independent peer (`mesh_peer.py direct`: PROTOCOL.md §16 with its own HPKE) sends
    /// raw `Direct` frames. Good messages are stored and acknowledged; a replay is
    /// acknowledged and not stored twice; a bad signature or a forged origin is dropped
    /// unanswered; a message not sealed to the node, not an object, or oversized gets a
    /// signed refusal. Each is counted, and the link stays up throughout.
    @Test func rawFramesFromAnIndependentPeer() async throws {
        let directory = try MeshTests.directory()
        try await PythonPeer.ensurePackages(home: directory.path)
        let node = try await ServeProcess(directory: directory, arguments: ["--network-key", "interop"], announce: true)
        let id = try await node.client.identity().agentID
        let key = try #require(try await node.client.agent(id).record.exchangeKey)
        let result = try await PythonPeer.run(
            mode: ["direct"] + node.meshHostPort + ["interop", key.publicKey.base64EncodedString(), key.signature.base64EncodedString()],
            home: directory.path)
        #expect(result.status == 0, "answers \(result.json) \(result.stderr.suffix(2000))")
        let python = try AgentID.parse(try #require(result.json["me"] as? String))
        let stored = try await node.client.directMessages(DirectListRequest(with: python)).messages
        #expect(stored.map(Self.text) == ["still here", "hello from python"], "newest first, the replay not stored twice")
        #expect(stored.allSatisfy { $0.direction == .incoming && $0.state == .received })
        let metrics = try await node.client.metrics()
        let counts = [("received", 2), ("duplicate", 1), ("bad_signature", 2), ("refused_not_sealed", 2), ("refused_too_large", 1)]
        for (outcome, count) in counts {
            let line = "plexus_direct_messages_total{outcome=\"\(outcome)\"} \(count)\n"
            #expect(metrics.contains(line), "no '\(line)' in \(metrics.split(separator: "\n").filter { $0.contains("direct") })")
        }
        #expect(try await node.stop() == 0)
    }

    @Test func blockedSendersAreRefusedAndUnknownOnesQuarantined() async throws {
        let b = try await ServeProcess(directory: try MeshTests.directory(extra: "trust:\n  messages_from: known\n"), announce: true)
        let a = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", b.meshAddress], announce: true)
        let aID = try await a.client.identity().agentID
        let bID = try await b.client.identity().agentID
        try await MeshTests.eventually("A knows B") { (try? await a.client.agent(bID)) != nil }

        // Unknown to B: kept apart as quarantined, but delivered.
        let first = try await a.client.sendDirect(DirectSendRequest(to: bID, content: .object(["text": .string("hello, stranger")]), waitMs: 20_000))
        #expect(first.state == .delivered)
        #expect(try await b.client.directMessages(DirectListRequest(quarantined: true)).messages.map(Self.text) == ["hello, stranger"])

        // Known: the inbox.
        _ = try await b.client.addContact(ContactRequest(agent: aID, trust: .known))
        let second = try await a.client.sendDirect(DirectSendRequest(to: bID, content: .object(["text": .string("hello, friend")]), waitMs: 20_000))
        #expect(second.state == .delivered)
        #expect(try await b.client.directMessage(second.id).state == .received)

        // Blocked: refused, and nothing stored. (Blocking also closes the connection, so A
        // reaches B by dialling, which B refuses: the message stays pending.)
        _ = try await b.client.addContact(ContactRequest(agent: aID, trust: .blocked))
        let third = try await a.client.sendDirect(DirectSendRequest(to: bID, content: .object(["text": .string("let me in")]), waitMs: 3_000))
        #expect(third.state != .delivered)
        #expect(try await b.client.directMessages(DirectListRequest(with: aID)).messages.count == 2)

        // Oversized content is refused before anything is sent.
        let big = String(repeating: "x", count: DirectEnvelope.maxContentBytes + 1)
        await #expect(throws: PlexusError.self) {
            _ = try await a.client.sendDirect(DirectSendRequest(to: bID, content: .object(["text": .string(big)])))
        }
        for node in [a, b] { _ = try await node.stop() }
    }
}
