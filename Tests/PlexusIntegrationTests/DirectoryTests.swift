import Foundation
import PlexusClient
import PlexusCore
import Testing

/// The agent directory on real nodes: signed announcements spread over the mesh, found by
/// id, capability, user and label, through HTTP and the CLI; presence goes stale and the
/// record lapses when an agent stops announcing.
@Suite(.serialized) struct DirectoryTests {
    @Test func announcedAgentsAreFoundByIdCapabilityUserAndLabel() async throws {
        let aDirectory = try MeshTests.directory()
        try """
            agent:
              tools: [web_search]
              user: alice@example.com
              labels: {region: eu}
              devices:
                - {type: gpu, model: "RTX 4090", properties: {vram_gb: 24}}
            """.write(to: aDirectory.file("config.yaml"), atomically: true, encoding: .utf8)
        let a = try await ServeProcess(directory: aDirectory, arguments: ["--capability", "echo"], announce: true)
        let b = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", a.meshAddress], announce: true)
        let c = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", a.meshAddress])
        let aID = try await a.client.identity().agentID
        let bID = try await b.client.identity().agentID
        let cID = try await c.client.identity().agentID

        try await MeshTests.eventually("c sees a and b") {
            Set(try await c.client.agents(AgentQuery()).map(\.agentID)) == [aID, bID]
        }
        let found = try await c.client.agent(aID)
        #expect(found.presence == .online)
        #expect(found.record.capabilities.skills == ["echo"])
        #expect(found.record.capabilities.tools == ["web_search"])
        #expect(found.record.addresses == [a.meshAddress])
        #expect(found.record.capabilities.resources.devices.first?.properties["vram_gb"] == 24)
        #expect((found.record.capabilities.resources.cpuCores ?? 0) >= 1)
        #expect(found.expiresMs == found.announcedMs + 900_000)

        #expect(try await c.client.agents(AgentQuery(capability: "ECHO")).map(\.agentID) == [aID])
        #expect(try await c.client.agents(AgentQuery(capability: "web_search")).map(\.agentID) == [aID])
        #expect(try await c.client.agents(AgentQuery(user: "alice@example.com")).map(\.agentID) == [aID])
        #expect(try await c.client.agents(AgentQuery(label: "region=eu")).map(\.agentID) == [aID])
        #expect(try await c.client.agents(AgentQuery(label: "region=us")).isEmpty)
        #expect(try await c.client.agents(AgentQuery(label: "=")).isEmpty, "a label filter with no key names no label")
        // c does not announce: nobody finds it.
        await #expect(throws: PlexusError.self) { _ = try await a.client.agent(cID) }

        let cli = try await runPlexus(["find", "--data", c.directory.path, "--json", "--capability", "echo"], home: c.directory.path)
        #expect(cli.status == 0, "\(cli.stderr)")
        let listed = try JSONSerialization.jsonObject(with: Data(cli.stdout.utf8)) as? [[String: Any]]
        #expect(listed?.map { $0["agent_id"] as? String } == [aID.description])
        let byID = try await runPlexus(["find", "--data", c.directory.path, bID.description], home: c.directory.path)
        #expect(byID.stdout.contains("\(bID)  online"))
        let missing = try await runPlexus(["find", "--data", c.directory.path, "--capability", "juggling"], home: c.directory.path)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("[notFound]"))
        for node in [a, b, c] { _ = try await node.stop() }
    }

    @Test func anAgentThatStopsAnnouncingGoesStaleThenLapses() async throws {
        let aDirectory = try MeshTests.directory()
        try "agent:\n  announce_interval_s: 1\n".write(to: aDirectory.file("config.yaml"), atomically: true, encoding: .utf8)
        let a = try await ServeProcess(directory: aDirectory, announce: true)
        let observer = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", a.meshAddress])
        let aID = try await a.client.identity().agentID
        try await MeshTests.eventually("the observer sees a online") {
            (try? await observer.client.agent(aID))?.presence == .online
        }
        // While a runs, it keeps announcing: its record stays fresh.
        let first = try await observer.client.agent(aID)
        try await MeshTests.eventually("a announced again") {
            (try? await observer.client.agent(aID))?.recordID != first.recordID
        }
        _ = try await a.stop()
        try await MeshTests.eventually("a goes stale") {
            (try? await observer.client.agent(aID))?.presence == .stale
        }
        try await MeshTests.eventually("a's record lapses") {
            try await observer.client.agents(AgentQuery()).isEmpty
        }
        _ = try await observer.stop()
    }

    /// A node that does not store an agent's announcements (it follows someone else) still
    /// finds the agent, by id and by capability, through the DHT.
    @Test func agentsNotHeldLocallyAreFoundThroughTheDHT() async throws {
        let hub = try await ServeProcess(directory: try MeshTests.directory())
        let seeker = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", hub.meshAddress])
        _ = try await seeker.client.follow(AgentKey().id)  // stores only that agent (and itself)
        let agent = try await ServeProcess(
            directory: try MeshTests.directory(), arguments: ["--peer", hub.meshAddress, "--capability", "translate"], announce: true)
        let agentID = try await agent.client.identity().agentID
        try await MeshTests.eventually("the hub holds the agent's record") { (try? await hub.client.agent(agentID)) != nil }

        try await MeshTests.eventually("the seeker finds the agent through the DHT") { (try? await seeker.client.agent(agentID)) != nil }
        #expect(try await seeker.client.agent(agentID).record.capabilities.skills == ["translate"])
        // The agent stores its record under its own key first, then under each capability
        // (one DHT lookup and store each): found by id does not yet mean found by capability.
        try await MeshTests.eventually("the seeker finds the agent by capability through the DHT") {
            (try? await seeker.client.agents(AgentQuery(capability: "translate")))?.map(\.agentID) == [agentID]
        }
        // Not from its store: it holds none of the agent's entries.
        #expect(try await seeker.client.feed(author: agentID.description).entries.isEmpty)
        for node in [agent, seeker, hub] { _ = try await node.stop() }
    }

    /// A user certificate, signed with the user's own key, makes `find --user <user id>`
    /// rest on a signature; a certificate made for another agent does not count.
    @Test func aUserCertificateIsVerifiedAndFindable() async throws {
        let user = try MeshTests.directory()
        #expect(try await runPlexus(["init", "--data", user.path], home: user.path).status == 0)
        let userID = try await runPlexus(["id", "--data", user.path], home: user.path).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!userID.isEmpty)

        let hub = try await ServeProcess(directory: try MeshTests.directory())
        let agentDirectory = try MeshTests.directory()
        #expect(try await runPlexus(["init", "--data", agentDirectory.path], home: agentDirectory.path).status == 0)
        let agentID = try await runPlexus(["id", "--data", agentDirectory.path], home: agentDirectory.path).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let certificate = try await runPlexus(["certify-agent", "--data", user.path, "--name", "Alice", agentID], home: user.path)
        #expect(certificate.status == 0, "\(certificate.stderr)")
        try certificate.stdout.write(to: agentDirectory.file("user.cert"), atomically: true, encoding: .utf8)
        try "agent:\n  user_certificate: \(agentDirectory.file("user.cert").path)\n"
            .write(to: agentDirectory.file("config.yaml"), atomically: true, encoding: .utf8)
        let agent = try await ServeProcess(directory: agentDirectory, arguments: ["--peer", hub.meshAddress], announce: true)

        // Another agent presenting the same certificate (made for someone else) is not verified.
        let impostorDirectory = try MeshTests.directory()
        try certificate.stdout.write(to: impostorDirectory.file("user.cert"), atomically: true, encoding: .utf8)
        try "agent:\n  user_certificate: \(impostorDirectory.file("user.cert").path)\n"
            .write(to: impostorDirectory.file("config.yaml"), atomically: true, encoding: .utf8)
        let impostor = try await ServeProcess(directory: impostorDirectory, arguments: ["--peer", hub.meshAddress], announce: true)
        let impostorID = try await impostor.client.identity().agentID

        let certifiedID = try AgentID.parse(agentID)
        try await MeshTests.eventually("the hub has both records") {
            let certified = try? await hub.client.agent(certifiedID)
            let other = try? await hub.client.agent(impostorID)
            return certified != nil && other != nil
        }
        #expect(try await hub.client.agent(certifiedID).verifiedUser == (try AgentID.parse(userID)))
        #expect(try await hub.client.agent(certifiedID).record.user == "Alice")
        #expect(try await hub.client.agent(impostorID).verifiedUser == nil)
        #expect(try await hub.client.agents(AgentQuery(user: userID)).map(\.agentID.description) == [agentID])
        for node in [impostor, agent, hub] { _ = try await node.stop() }
    }

    /// Agent records are soft state: in no feed and no hook. A node that joins late gets
    /// every record from its first mesh neighbour at once (the agents announce only every
    /// 300 s here), and its hook runs for entries that arrive live, not for the history
    /// anti-entropy brings when it joins.
    @Test func recordsStayOutOfFeedsAndHooksAndALateNodeGetsTheDirectoryAtOnce() async throws {
        let a = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--capability", "echo"], announce: true)
        let b = try await ServeProcess(directory: try MeshTests.directory(), arguments: ["--peer", a.meshAddress], announce: true)
        let aID = try await a.client.identity().agentID
        let bID = try await b.client.identity().agentID
        try await MeshTests.eventually("a and b see each other") {
            let seenByA = Set(try await a.client.agents(AgentQuery()).map(\.agentID))
            let seenByB = Set(try await b.client.agents(AgentQuery()).map(\.agentID))
            return seenByA == [aID, bID] && seenByB == [aID, bID]
        }
        let history = try await b.client.publish(PublishRequest(content: .object(["text": .string("before the late node")])))

        let lateDirectory = try MeshTests.directory()
        let output = lateDirectory.file("hook.jsonl")
        let script = HookTests.interop.appendingPathComponent("hook_append.py").path
        let late = try await ServeProcess(
            directory: lateDirectory, arguments: ["--peer", a.meshAddress, "--hook-on-entry", "python3 '\(script)' '\(output.path)'"])
        try await MeshTests.eventually("the late node finds both agents", within: .seconds(10)) {
            Set(try await late.client.agents(AgentQuery()).map(\.agentID)) == [aID, bID]
        }
        #expect(try await late.client.agents(AgentQuery(capability: "echo")).map(\.agentID) == [aID])
        #expect(try await late.client.agent(bID).presence == .online)
        try await MeshTests.eventually("the late node fetched the history") { (try? await late.client.entry(history.id)) != nil }

        let live = try await b.client.publish(PublishRequest(content: .object(["text": .string("after the late node")])))
        try await MeshTests.eventually("the hook ran for the live entry") {
            HookTests.lines(output).contains { $0.contains(live.id.hex) }
        }
        // Only the live entry: no record and no history ran the hook.
        #expect(HookTests.lines(output).count == 1)
        // Records take no seq and are in no feed: a's and b's feeds hold only b's two entries.
        for node in [a, b, late] {
            let held = Set(try await node.client.feed().entries.map(\.id))
            #expect(held == [history.id, live.id])
        }
        for node in [late, b, a] { _ = try await node.stop() }
    }
}
