import Foundation
import PlexusNamespaces
import PlexusCore
import Testing

/// LAN discovery in real network namespaces (made and removed by the test): nodes started
/// with `--lan-discovery` and no `--peer` find each other by their beacons alone; a node of
/// another network key hears the beacons and ignores them.
@Suite(.serialized) struct LANDiscoveryTests {
    /// A `plexus serve` inside a namespace, driven through the CLI run in the same namespace
    /// (its API listens on that namespace's loopback).
    final class NamespacedNode: Sendable {
        let lan: NamespaceLAN
        let host: Int
        let directory: TempDirectory
        let process: Process

        init(lan: NamespaceLAN, host: Int, config: String, flags: [String] = ["--lan-discovery"]) async throws {
            self.lan = lan
            self.host = host
            directory = try TempDirectory()
            try Data(config.utf8).write(to: directory.file("config.yaml"))
            process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = lan.command(host, [
                PlexusBinary.url.path, "serve", "--data", directory.path, "--api", "127.0.0.1:0", "--listen", "0.0.0.0:0", "--no-announce",
            ] + flags)
            process.environment = childEnvironment(home: directory.path)
            let log = directory.file("serve.log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            // The child has its own copy.
            try? handle.close()
            try await MeshTests.eventually("the node in \(lan.hosts[host]) answers", within: .seconds(60)) {
                try await self.cli(["status"]).status == 0
            }
        }

        /// `plexus ARGS --data DIR` inside the namespace.
        func cli(_ arguments: [String]) async throws -> CLIResult {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = lan.command(host, [PlexusBinary.url.path] + arguments + ["--data", directory.path])
            return try await runCapturing(process, home: directory.path, timeout: .seconds(30))
        }

        func id() async throws -> String {
            try await cli(["id"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// The agent ids of the connected peers.
        func connected() async throws -> [String] {
            try await connections().map(\.agent)
        }

        /// The connected peers and when each connection was made (ms since the epoch).
        func connections() async throws -> [(agent: String, sinceMs: Int64)] {
            let result = try await cli(["peers", "--json"])
            let peers = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [[String: Any]] ?? []
            return peers.filter { $0["state"] as? String == "connected" }.compactMap { peer in
                guard let agent = peer["agent_id"] as? String, let since = peer["connected_ms"] as? Int64 ?? (peer["connected_ms"] as? Int).map(Int64.init)
                else { return nil }
                return (agent, since)
            }
        }

        /// A counter of this node's metrics, 0 when absent.
        func metric(_ series: String) async throws -> Double {
            let text = try await cli(["metrics"]).stdout
            return text.split(separator: "\n").first { $0.hasPrefix(series + " ") }
                .flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
        }

        func stop() {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
        }

        deinit { if process.isRunning { process.terminate() } }
    }

    /// Needs root and iproute2 to make network namespaces.
    @Test(.enabled(if: NamespaceLAN.available))
    func nodesOnOneNetworkFindEachOtherAndOthersAreIgnored() async throws {
        let lan = try NamespaceLAN(hosts: 3)
        defer { lan.remove() }
        let config = "discovery:\n  beacon_interval_s: 1\n"
        let a = try await NamespacedNode(lan: lan, host: 0, config: config)
        defer { a.stop() }
        // How soon is the machine's speed: `plexus-bench discovery` measures it.
        let b = try await NamespacedNode(lan: lan, host: 1, config: config)
        defer { b.stop() }
        let (aID, bID) = (try await a.id(), try await b.id())
        try await MeshTests.eventually("A and B connected by discovery alone", within: .seconds(30)) {
            let aPeers = try await a.connected()
            let bPeers = try await b.connected()
            return aPeers.contains(bID) && bPeers.contains(aID)
        }

        // Another network key: C hears the beacons (counted as foreign) and dials nobody.
        let c = try await NamespacedNode(lan: lan, host: 2, config: config + "network_key: another-network\n")
        defer { c.stop() }
        try await MeshTests.eventually("C heard beacons of the other network") {
            try await c.metric(#"plexus_discovery_beacons_total{outcome="foreign"}"#) >= 2
        }
        #expect(try await c.connected().isEmpty)
        let cID = try await c.id()
        let aPeers = try await a.connected()
        let bPeers = try await b.connected()
        #expect(!aPeers.contains(cID) && !bPeers.contains(cID))
        #expect(try await a.metric(#"plexus_discovery_beacons_total{outcome="foreign"}"#) >= 1, "A heard C's beacons too")
    }

    /// A hostile host on the LAN (`beacon_abuser.py`, written from PROTOCOL.md §17): each
    /// bad beacon is counted and dialled nobody; a beacon naming someone else's id leads
    /// to a handshake the node refuses; a flood from that host is rate-limited and does not
    /// keep a node that starts during it from being found: the flood goes on until the two
    /// are connected (how soon is the machine's speed, not a condition of the test).
    @Test(.enabled(if: NamespaceLAN.available))
    func abusiveBeaconsAreCountedAndAFloodStarvesNoOne() async throws {
        let lan = try NamespaceLAN(hosts: 3)
        defer { lan.remove() }
        let network = "lan-abuse"
        let config = "discovery:\n  beacon_interval_s: 1\nnetwork_key: \(network)\n"
        let a = try await NamespacedNode(lan: lan, host: 0, config: config)
        defer { a.stop() }
        try await PythonPeer.ensurePackages(home: a.directory.path)
        let script = PythonPeer.interopScript("beacon_abuser.py").path
        func abuser(_ arguments: [String], timeout: Duration) async throws -> (status: Int32, json: [String: Any], stderr: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = lan.command(2, ["python3", script] + arguments)
            let result = try await runCapturing(process, home: a.directory.path, timeout: timeout)
            let line = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
            return (result.status, (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:], result.stderr)
        }
        func outcome(_ node: NamespacedNode, _ name: String) async throws -> Double {
            try await node.metric(#"plexus_discovery_beacons_total{outcome="\#(name)"}"#)
        }

        let forged = try await abuser(["forge", "239.255.70.77", "7466", network, "10.77.0.3"], timeout: .seconds(60))
        #expect(forged.status == 0, "the listener saw \(forged.json); \(forged.stderr.suffix(1500))")
        #expect(forged.json["dialled"] as? Bool == true, "a well-signed beacon is dialled")
        #expect(forged.json["refused"] as? Bool == true && forged.json["handshake_completed"] as? Bool == false,
                "the handshake with an agent other than the beaconed one is refused")
        try await MeshTests.eventually("A counted each bad beacon") {
            let (malformed, foreign, stale) = (try await outcome(a, "malformed"), try await outcome(a, "foreign"), try await outcome(a, "stale"))
            let oversize = try await outcome(a, "oversize")
            return malformed >= 2 && foreign >= 1 && stale >= 1 && oversize >= 1
        }
        #expect(try await a.connected().isEmpty, "A holds no connection to the forger")

        // A flood from the same host, and during it B starts: A and B still find each other
        // while it goes on (it stops once the test has seen them connected).
        let stopFlood = a.directory.file("stop-flood")
        async let flood = abuser(
            ["flood", "239.255.70.77", "7466", network, "10.77.0.3", "120", "100000000", stopFlood.path], timeout: .seconds(150))
        try await MeshTests.eventually("the flood reaches A") { try await outcome(a, "rate_limited") >= 1_000 }
        let b = try await NamespacedNode(lan: lan, host: 1, config: config)
        defer { b.stop() }
        let bID = try await b.id()
        try await MeshTests.eventually("A and B connected during the flood", within: .seconds(90)) {
            try await a.connected().contains(bID)
        }
        let connectedMs = try #require(try await a.connections().first { $0.agent == bID }?.sinceMs)
        FileManager.default.createFile(atPath: stopFlood.path, contents: nil)
        let flooded = try await flood
        let sent = flooded.json["sent"] as? Int ?? 0
        #expect(flooded.status == 0 && sent > 1_000, "the flood sent \(sent)")
        let limited = try await outcome(a, "rate_limited")
        let looked = try await outcome(a, "malformed")
        #expect(connectedMs < flooded.json["ended_ms"] as? Int64 ?? 0, "A and B connected while the flood went on")
        #expect(limited > 1_000 && looked < 100, "of \(sent) flood datagrams A limited \(limited) and checked \(looked)")
        #expect(try await a.cli(["status"]).status == 0, "A still answers")
    }

    /// Needs root and iproute2 to make network namespaces.
    @Test(.enabled(if: NamespaceLAN.available))
    func multicastDNSAdvertisesToZeroconfAndFindsPeers() async throws {
        let lan = try NamespaceLAN(hosts: 3)
        defer { lan.remove() }
        let a = try await NamespacedNode(lan: lan, host: 0, config: "", flags: ["--mdns"])
        defer { a.stop() }
        let b = try await NamespacedNode(lan: lan, host: 1, config: "", flags: ["--mdns"])
        defer { b.stop() }
        let (aID, bID) = (try await a.id(), try await b.id())
        try await MeshTests.eventually("A and B connected through mDNS alone", within: .seconds(10)) {
            let aPeers = try await a.connected()
            let bPeers = try await b.connected()
            return aPeers.contains(bID) && bPeers.contains(aID)
        }

        // Python's zeroconf, browsing from a third host, sees both services with their ids.
        try await PythonPeer.ensure(modules: "zeroconf", packages: ["zeroconf"], home: a.directory.path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = lan.command(2, ["python3", PythonPeer.interopScript("zeroconf_browse.py").path, "15", "2"])
        let browsed = try await runCapturing(process, home: a.directory.path, timeout: .seconds(60))
        let found = (try? JSONSerialization.jsonObject(with: Data((browsed.stdout.split(separator: "\n").last ?? "").utf8))) as? [String: [String: Any]] ?? [:]
        let ids = Set(found.values.compactMap { ($0["properties"] as? [String: Any])?["id"] as? String })
        #expect(ids == [aID, bID], "zeroconf found \(browsed.stdout) \(browsed.stderr.suffix(1500))")
        #expect(found.values.allSatisfy { ($0["port"] as? Int ?? 0) > 0 && !(($0["addresses"] as? [String]) ?? []).isEmpty })
    }
}
