import Foundation
import PlexusClient
import PlexusCore
import Testing

/// Contacts and trust on real processes: a blocked agent is disconnected, its entries are
/// neither stored nor fetched (even through a third node that holds them), it stays
/// refused when it comes back from a new address, and all of that ends when the contact is
/// removed; `trust: tasks_from` refuses tasks from agents below the level and takes them
/// once the sender is trusted.
@Suite(.serialized) struct ContactTrustTests {
    static func publish(_ node: ServeProcess, _ text: String) async throws -> EntryID {
        try await node.client.publish(PublishRequest(topic: "trust", content: .object(["text": .string(text)]))).id
    }

    @Test func aBlockedAgentIsRefusedEverywhereUntilUnblocked() async throws {
        let a = try await ServeProcess(directory: try MeshTests.directory())
        let bDirectory = try MeshTests.directory()
        var b = try await ServeProcess(directory: bDirectory, arguments: ["--peer", a.meshAddress], announce: true)
        let c = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", a.meshAddress, "--peer", b.meshAddress])
        for node in [a, b, c] { _ = try await node.client.subscribe("trust") }
        let bID = try await b.client.identity().agentID
        let cID = try await c.client.identity().agentID
        try await MeshTests.eventually("A is connected to B and C") {
            Set(try await a.client.connectedPeers().compactMap(\.agentID)).isSuperset(of: [bID, cID])
        }
        // Before the block, B's entries reach A.
        let before = try await Self.publish(b, "before the block")
        try await MeshTests.eventually("A holds B's entry") { (try? await a.client.entry(before)) != nil }

        let contact = try await a.client.addContact(ContactRequest(agent: bID, name: "bob", trust: .blocked))
        #expect(contact.trust == .blocked && contact.name == "bob")
        #expect(try await a.client.contacts().map(\.agent) == [bID])
        #expect(try await a.client.agents(AgentQuery()).first { $0.agentID == bID }?.contact?.trust == .blocked, "the directory shows the contact")
        try await MeshTests.eventually("A dropped B") { !(try await a.client.connectedPeers().contains { $0.agentID == bID }) }

        // B's next entry reaches C (connected to both) but never A, while C's entries do.
        let blocked = try await Self.publish(b, "after the block")
        try await MeshTests.eventually("C holds B's new entry") { (try? await c.client.entry(blocked)) != nil }
        let witness = try await Self.publish(c, "from C, after C held B's entry")
        try await MeshTests.eventually("A holds C's entry") { (try? await a.client.entry(witness)) != nil }
        let rounds = try await a.client.sync().filter { $0.peer == cID }.map(\.rounds).reduce(0, +)
        try await MeshTests.eventually("A and C compared feeds twice more", within: .seconds(30)) {
            try await a.client.sync().filter { $0.peer == cID }.map(\.rounds).reduce(0, +) >= rounds + 2
        }
        await #expect(throws: PlexusError.self) { _ = try await a.client.entry(blocked) }

        // B comes back from a new address and dials A: the handshake names it, A closes it.
        _ = try await b.stop()
        b = try await ServeProcess(directory: bDirectory)
        let refusedBefore = try await a.client.status().mesh?.counts.closed["refused_peer"] ?? 0
        _ = try? await b.client.connect(ConnectRequest(address: a.meshAddress))
        try await MeshTests.eventually("A refused B's new connection") {
            (try await a.client.status().mesh?.counts.closed["refused_peer"] ?? 0) > refusedBefore
        }
        #expect(!(try await a.client.connectedPeers().contains { $0.agentID == bID }))

        // Removing the contact ends all of it: B connects and its entries arrive, the
        // one missed included.
        _ = try await a.client.removeContact(bID)
        #expect(try await a.client.contacts().isEmpty)
        _ = try await b.client.connect(ConnectRequest(address: a.meshAddress))
        try await MeshTests.eventually("A is connected to B again") {
            let peers = try await a.client.connectedPeers()
            return peers.contains { $0.agentID == bID }
        }
        let after = try await Self.publish(b, "after the unblock")
        try await MeshTests.eventually("A holds B's entries again", within: .seconds(30)) {
            let new = try? await a.client.entry(after)
            let missed = try? await a.client.entry(blocked)
            return new != nil && missed != nil
        }
        for node in [c, b, a] { _ = try await node.stop() }
    }

    @Test func tasksComeOnlyFromTheTrustedWhenTheConfigSaysSo() async throws {
        let worker = try await ServeProcess(
            directory: try MeshTests.directory(extra: "trust:\n  tasks_from: trusted\n"), arguments: ["--capability", "echo"], announce: true)
        let caller = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", worker.meshAddress])
        let workerID = try await worker.client.identity().agentID
        let callerID = try await caller.client.identity().agentID
        try await MeshTests.eventually("connected") { !(try await caller.client.connectedPeers().isEmpty) }

        let refused = try await caller.client.sendTask(SendTaskRequest(to: workerID, capability: "echo", payload: .object([:]), waitMs: 10_000))
        #expect(refused.state == .rejected && refused.error?.code == "forbidden", "\(refused.state) \(String(describing: refused.error))")
        #expect(try await worker.client.tasks(limit: 10, role: .worker).isEmpty)

        _ = try await worker.client.addContact(ContactRequest(agent: callerID, trust: .known))
        let known = try await caller.client.sendTask(SendTaskRequest(to: workerID, capability: "echo", payload: .object([:]), waitMs: 10_000))
        #expect(known.state == .rejected, "known is below trusted")

        _ = try await worker.client.addContact(ContactRequest(agent: callerID, trust: .trusted))
        let taken = try await caller.client.sendTask(SendTaskRequest(to: workerID, capability: "echo", payload: .object(["n": .integer(1)])))
        let leased = try #require(try await worker.client.nextTask(capability: "echo", waitMs: 10_000, leaseMs: 30_000))
        #expect(leased.id == taken.id)
        _ = try await worker.client.finishTask(leased.id, with: TaskResultRequest(result: .object(["ok": .bool(true)])))
        #expect(try await caller.client.task(taken.id, waitMs: 10_000).state == .completed)
        for node in [caller, worker] { _ = try await node.stop() }
    }
}
