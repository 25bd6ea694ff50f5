import Foundation
import PlexusClient
import PlexusCore
import Testing

/// The mesh transport between real `plexus serve` processes, and against an independent
/// Python implementation (noiseprotocol) as both initiator and responder.
@Suite(.serialized) struct MeshTests {
    /// A data directory whose node pings every second (idle timeout 3 s), so that RTT and
    /// idle behaviour show within a test. Tests of slow handshakes shorten the handshake
    /// timeout; the others keep it long so a loaded machine cannot fail them.
    static func directory(handshakeTimeoutMs: Int = 10_000, extra: String = "") throws -> TempDirectory {
        let directory = try TempDirectory()
        let config = "mesh:\n  handshake_timeout_ms: \(handshakeTimeoutMs)\n  idle_timeout_ms: 3000\n" + extra
        try Data(config.utf8).write(to: directory.file("config.yaml"))
        return directory
    }

    static func eventually(_ what: String, within: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + within
        while ContinuousClock.now < deadline {
            if (try? await condition()) == true { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("timed out waiting for: \(what)")
    }

    @Test func pythonInitiatorHandshakesAndExchangesFramesWithTheNode() async throws {
        let directory = try Self.directory()
        try await PythonPeer.ensurePackages(home: directory.path)
        let node = try await ServeProcess(directory: directory, arguments: ["--network-key", "interop"])
        let result = try await PythonPeer.run(mode: ["initiator"] + node.meshHostPort + ["interop"], home: directory.path)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.json["peer"] as? String == (try await node.client.identity().agentID.base32))
        #expect(result.json["pongs"] as? [Int] == [7, 8, 9])
        // The node saw the Python peer's verified identity.
        let counts = try #require(try await node.client.status().mesh?.counts)
        #expect(counts.handshakesCompleted == 1)
        #expect(try await node.stop() == 0)
    }

    @Test func nodeDialsAPythonResponder() async throws {
        let directory = try Self.directory()
        try await PythonPeer.ensurePackages(home: directory.path)
        let node = try await ServeProcess(directory: directory, arguments: ["--network-key", "interop"])
        let (python, port, output) = try await PythonPeer.startResponder(networkKey: "interop", home: directory.path)
        defer { if python.isRunning { kill(python.processIdentifier, SIGKILL) } }
        let connect = try await runPlexus(["connect", "--data", directory.path, "--json", "127.0.0.1:\(port)"], home: directory.path)
        #expect(connect.status == 0, "\(connect.stderr)")
        let python_id = try connect.json()["agent_id"] as? String
        #expect(python_id != nil)
        // The Python side verified the node's identity and got its pong.
        let rest = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let result = (try? JSONSerialization.jsonObject(with: Data((rest.split(separator: "\n").last.map(String.init) ?? "").utf8))) as? [String: Any]
        #expect(result?["ok"] as? Bool == true)
        #expect(result?["peer"] as? String == (try await node.client.identity().agentID.base32))
        #expect(result?["me"] as? String == python_id)
        _ = try await node.stop()
    }

    @Test func threeNodesConnectByBootstrapAndByCommand() async throws {
        let a = try await ServeProcess(directory: try Self.directory())
        let b = try await ServeProcess(directory: try Self.directory(), arguments: ["--peer", a.meshAddress])
        let c = try await ServeProcess(directory: try Self.directory())
        let aID = try await a.client.identity().agentID
        let bID = try await b.client.identity().agentID
        let cID = try await c.client.identity().agentID

        let pinned = try await runPlexus(["connect", "--data", c.directory.path, "--id", aID.base32, a.meshAddress], home: c.directory.path)
        #expect(pinned.status == 0, "\(pinned.stderr)")
        _ = try await c.client.connect(ConnectRequest(address: b.meshAddress))

        try await Self.eventually("every node sees the other two, with RTT measured") {
            let aPeers = try await a.client.connectedPeers()
            let cPeers = try await c.client.connectedPeers()
            return Set(aPeers.compactMap(\.agentID)) == [bID, cID] && Set(cPeers.compactMap(\.agentID)) == [aID, bID]
                && aPeers.allSatisfy { $0.rttMs != nil && $0.bytesIn > 0 && $0.bytesOut > 0 }
        }
        let listed = try await runPlexus(["peers", "--data", a.directory.path], home: a.directory.path)
        #expect(listed.stdout.contains(bID.short) && listed.stdout.contains(cID.short))
        #expect(listed.stdout.contains("rtt"))

        // Pinning the wrong id is refused with its own code.
        let wrong = try await runPlexus(
            ["connect", "--data", c.directory.path, "--json", "--id", cID.base32, a.meshAddress], home: c.directory.path)
        #expect(wrong.status == 1)
        #expect((try wrong.json()["error"] as? [String: Any])?["code"] as? String == "handshakeFailed")
        for node in [a, b, c] { _ = try await node.stop() }
    }

    @Test func rememberedPeersAreRedialledAfterARestart() async throws {
        let a = try await ServeProcess(directory: try Self.directory())
        let bDirectory = try Self.directory()
        var b = try await ServeProcess(directory: bDirectory)
        let aID = try await a.client.identity().agentID
        let dialled = try await b.client.connect(ConnectRequest(address: a.meshAddress))
        #expect(dialled.state == .connected && dialled.remembered)  // the answer says what peers() will list
        #expect(try await b.stop() == 0)

        b = try await ServeProcess(directory: bDirectory)  // no --peer: the address is remembered
        try await Self.eventually("b reconnects to a") { try await b.client.connectedPeers().contains { $0.agentID == aID } }
        let kept = try #require(try await b.client.peers().first { $0.agentID == aID })
        #expect(kept.state == .connected && kept.remembered && kept.connectedMs != nil && kept.nextDialMs == nil)

        // a goes away: b still lists it, as remembered and not connected, with its redialling.
        let address = a.meshAddress
        _ = try await a.stop()
        try await Self.eventually("b shows a waiting for a redial after a failed one") {
            guard let peer = try await b.client.peers().first(where: { $0.address == address }) else { return false }
            return peer.state == .waiting && peer.agentID == aID && (peer.failedDials ?? 0) >= 1 && peer.lastError != nil
                && (peer.nextDialMs ?? 0) > 0 && peer.connectedMs == nil && peer.lastConnectedMs != nil
        }
        #expect(try await b.client.connectedPeers().isEmpty)
        let listed = try await runPlexus(["peers", "--data", bDirectory.path], home: bDirectory.path)
        // The CLI lists it with its failures; by the time it runs, the next redial may be under way.
        let listedState = listed.stdout.contains("\(address)  waiting  next dial in") || listed.stdout.contains("\(address)  dialling")
        #expect(listedState && listed.stdout.contains("failed:"), "\(listed.stdout)")
        _ = try await b.stop()
    }

    @Test func aRemovedPeerIsDisconnectedAndForgottenAcrossARestart() async throws {
        let a = try await ServeProcess(directory: try Self.directory())
        let bDirectory = try Self.directory()
        var b = try await ServeProcess(directory: bDirectory)
        let aID = try await a.client.identity().agentID
        _ = try await b.client.connect(ConnectRequest(address: a.meshAddress))

        let removed = try await runPlexus(["disconnect", "--data", bDirectory.path, "--json", aID.description], home: bDirectory.path)
        #expect(removed.status == 0, "\(removed.stderr)")
        let removal = try removed.json()
        #expect(removal["disconnected"] as? Bool == true)
        #expect(removal["forgotten"] as? [String] == [a.meshAddress])
        _ = try await a.stop()

        // Restarted, b neither dials a nor remembers it: removing it again finds nothing.
        #expect(try await b.stop() == 0)
        b = try await ServeProcess(directory: bDirectory)
        await #expect(throws: PlexusError.self) { _ = try await b.client.removePeer(aID.description) }
        let unknown = try await runPlexus(["disconnect", "--data", bDirectory.path, "127.0.0.1:9"], home: bDirectory.path)
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("[notFound]"))
        _ = try await b.stop()
    }

    @Test func unreachablePeerIsAClearError() async throws {
        let node = try await ServeProcess(directory: try Self.directory())
        let result = try await runPlexus(["connect", "--data", node.directory.path, "127.0.0.1:1"], home: node.directory.path)
        #expect(result.status == 1)
        #expect(result.stderr.contains("peerUnreachable"))
        // Said in words, not as NIO's nested error values.
        #expect(result.stderr.contains("cannot connect to 127.0.0.1:1: dial failed: connection refused [peerUnreachable]"),
                "\(result.stderr)")
        _ = try await node.stop()
    }

    @Test func abusiveConnectionsAreClosedWithReasonsWhileTheNodeKeepsServing() async throws {
        let directory = try Self.directory(handshakeTimeoutMs: 1000, extra: "  frame_rate: 200\n  frame_burst: 400\n")
        try await PythonPeer.ensurePackages(home: directory.path)
        let node = try await ServeProcess(directory: directory, arguments: ["--network-key", "abuse"])
        let target = node.meshHostPort
        let rssBefore = try #require(Self.residentKiB(node.process.processIdentifier))

        for mode in [
            ["wrong-network"] + target + ["abuse"], ["bad-signature"] + target + ["abuse"], ["garbage"] + target,
            ["truncated"] + target + ["abuse"], ["slowloris"] + target, ["oversize-frame"] + target + ["abuse"],
            ["flood"] + target + ["abuse", "20000"], ["cycles"] + target + ["2000"],
        ] {
            let result = try await PythonPeer.run(mode: mode, home: directory.path)
            #expect(result.status == 0, "\(mode[0]): \(result.json) \(result.stderr)")
        }

        let closed = try #require(try await node.client.status().mesh?.counts.closed)
        for reason in ["handshake: bad_identity_signature", "handshake_timeout", "frame_too_large", "rate_limited"] {
            #expect((closed[reason] ?? 0) >= 1, "no connection closed for \(reason): \(closed)")
        }
        // A well-behaved peer still gets through, and memory stayed flat.
        let good = try await PythonPeer.run(mode: ["initiator"] + target + ["abuse"], home: directory.path)
        #expect(good.status == 0, "\(good.stderr)")
        let rssAfter = try #require(Self.residentKiB(node.process.processIdentifier))
        #expect(rssAfter - rssBefore < 16 * 1024, "RSS grew from \(rssBefore) KiB to \(rssAfter) KiB")
        #expect(try await node.stop() == 0)
    }

    @Test func aPeerThatStopsAnsweringIsClosedAfterTheIdleTimeout() async throws {
        let directory = try Self.directory()
        try await PythonPeer.ensurePackages(home: directory.path)
        let node = try await ServeProcess(directory: directory, arguments: ["--network-key", "idle"])
        let result = try await PythonPeer.run(mode: ["silent"] + node.meshHostPort + ["idle"], home: directory.path)
        #expect(result.status == 0, "\(result.json) \(result.stderr)")
        // Pings every second answered by nobody: closed after the 3 s idle timeout, not before.
        let after = try #require(result.json["closed_after_s"] as? Double)
        #expect(after >= 2.5 && after < 10)
        #expect(try await node.client.status().mesh?.counts.closed["idle_timeout"] == 1)
        _ = try await node.stop()
    }

    @Test func thePerIPCapRefusesConnectionsBeyondIt() async throws {
        let directory = try Self.directory(handshakeTimeoutMs: 5000, extra: "  max_connections_per_ip: 3\n")
        try await PythonPeer.ensurePackages(home: directory.path)
        let node = try await ServeProcess(directory: directory)
        let result = try await PythonPeer.run(mode: ["hold"] + node.meshHostPort + ["5"], home: directory.path)
        #expect(result.json["opened"] as? Int == 5)
        #expect(result.json["closed"] as? Int == 2)
        #expect(try await node.client.status().mesh?.counts.closed["too_many_connections"] == 2)
        _ = try await node.stop()
    }

    static func residentKiB(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        return line.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true)[1]) }
    }
}
