import Foundation
import Logging
import Metrics
import NIOCore
import PlexusCore
import PlexusNet

/// LAN discovery (DESIGN §15, PROTOCOL.md §17): sends this agent's signed beacon to the
/// multicast group every `beacon_interval_s` (jittered), and takes others': a beacon that is
/// well signed, of this network and not stale, from an agent not connected here, is dialled
/// at the datagram's source address and the beaconed port with the agent's id pinned (so a
/// beacon naming someone else's id ends in a refused handshake), then kept connected like a
/// bootstrap peer. Beacons in are rate-limited per source address and in all; each agent is
/// dialled at most once per `redialAfter`.
actor LANDiscovery {
    /// Beacons taken per source address: a burst, then one per second.
    static let perSourceBurst = 10.0
    static let perSourceRate = 1.0
    /// Beacons taken from all sources per second.
    static let totalRate = 200.0
    static let redialAfter = Duration.seconds(30)
    static let maxTracked = 1024

    private let key: AgentKey
    private let networkKey: String
    /// The mesh port beacons name; nil when the mesh does not listen (beacons are then
    /// only taken, not sent).
    private let meshPort: Int?
    private let settings: DiscoverySettings
    private let mesh: ConnectionManager
    private let clock: NodeClock
    private let logger: Logger
    private var buckets: [String: TokenBucket] = [:]
    private var total = TokenBucket(capacity: LANDiscovery.totalRate, perSecond: LANDiscovery.totalRate)
    private var dialled: [AgentID: ContinuousClock.Instant] = [:]

    init(key: AgentKey, networkKey: String, meshPort: Int?, settings: DiscoverySettings, mesh: ConnectionManager, clock: NodeClock, logger: Logger) {
        self.key = key
        self.networkKey = networkKey
        self.meshPort = meshPort
        self.settings = settings
        self.mesh = mesh
        self.clock = clock
        self.logger = logger
    }

    /// Runs beacons (`discovery.lan`) and multicast DNS (`discovery.mdns`) until cancelled.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            if settings.lan { group.addTask { await self.runBeacons() } }
            if settings.mdns { group.addTask { await self.runMDNS() } }
            await group.waitForAll()
        }
    }

    /// Sends and takes beacons until cancelled.
    private func runBeacons() async {
        let datagrams: LANDatagrams
        do {
            datagrams = try await LANDatagrams.open(groupAddress: settings.lanGroup, port: settings.lanPort, maxDatagramBytes: LANBeacon.maxBytes)
        } catch {
            logger.error("LAN discovery is off: cannot open its socket", metadata: ["port": "\(settings.lanPort)", "error": "\(error)"])
            return
        }
        logger.info("LAN discovery on", metadata: ["group": "\(settings.lanGroup):\(settings.lanPort)", "interfaces": "\(datagrams.interfaces)"])
        await withTaskGroup(of: Void.self) { group in
            if let meshPort = self.meshPort {
                group.addTask {
                    await self.beacon(to: datagrams, port: meshPort)
                }
            }
            group.addTask {
                for await datagram in datagrams.datagrams { await self.take(datagram) }
            }
            await group.next()
            group.cancelAll()
        }
        await datagrams.close()
    }

    /// Sends a beacon every interval, jittered, until cancelled.
    private nonisolated func beacon(to datagrams: LANDatagrams, port: Int) async {
                while !Task.isCancelled {
                    let beacon = LANBeacon.encode(key: self.key, port: port, networkKey: self.networkKey, timeMs: self.clock.nowMs)
                    await datagrams.send(beacon)
                    Self.count("sent")
                    let interval = Double(self.settings.beaconIntervalS)
                    try? await Task.sleep(for: .seconds(interval * Double.random(in: 0.8...1.2)))
                }
    }

    /// Whether a datagram from `host` may be looked at: within the per-source and total rates.
    private func admits(_ host: String, at now: ContinuousClock.Instant) -> Bool {
        guard total.take(at: now) else { return false }
        if buckets[host] == nil {
            if buckets.count >= Self.maxTracked { buckets.removeAll() }
            buckets[host] = TokenBucket(capacity: Self.perSourceBurst, perSecond: Self.perSourceRate)
        }
        return buckets[host]?.take(at: now) == true
    }

    private func take(_ datagram: LANDatagrams.Datagram) async {
        guard let host = datagram.source.ipAddress else { return }
        guard admits(host, at: .now) else { return Self.count("rate_limited") }
        switch LANBeacon.read(datagram.bytes, networkKey: networkKey, nowMs: clock.nowMs) {
        case .malformed: Self.count("malformed")
        case .foreign: Self.count("foreign")
        case .stale: Self.count("stale")
        case .beacon(let agent, let port): Self.count(dial(agent, host: host, port: port, via: "beacon"))
        }
    }

    /// Dials a discovered agent at `host:port` with its id pinned, unless it is this one,
    /// connected, or dialled lately; returns what was done.
    private func dial(_ agent: AgentID, host: String, port: Int, via: String) -> String {
        guard agent != key.id else { return "own" }
        guard !mesh.connectedPeers().contains(agent) else { return "known" }
        let now = ContinuousClock.now
        if let last = dialled[agent], now - last < Self.redialAfter { return "known" }
        if dialled.count >= Self.maxTracked { dialled.removeAll() }
        dialled[agent] = now
        logger.info("discovery: dialling an agent found on the LAN", metadata: ["agent": "\(agent.short)", "address": "\(host):\(port)", "via": "\(via)"])
        Task { [mesh, logger] in
            do {
                _ = try await mesh.connect(host: host, port: port, expectedPeer: agent)
                await mesh.keepConnected(host: host, port: port)
            } catch {
                logger.info("discovery: dial failed", metadata: ["agent": "\(agent.short)", "error": "\(error)"])
            }
        }
        return "dialled"
    }

    /// `plexus_discovery_beacons_total{outcome}`.
    private static func count(_ outcome: String) {
        Metrics.Counter(label: "plexus_discovery_beacons_total", dimensions: [("outcome", outcome)]).increment()
    }

    // MARK: - Multicast DNS

    /// The service type advertised and browsed for.
    static let serviceType = "_plexus._tcp.local."
    static let servicesQuery = "_services._dns-sd._udp.local."
    /// Seconds between two browse queries.
    static let browseInterval = Duration.seconds(60)
    private var lastAnswer: ContinuousClock.Instant?

    private var instanceName: String { "plexus-\(key.id.description.prefix(12)).\(Self.serviceType)" }
    private var hostName: String { "plexus-\(key.id.description.prefix(12)).local." }

    /// Advertises this node as `_plexus._tcp.local.` and browses for others, until cancelled.
    private func runMDNS() async {
        let datagrams: LANDatagrams
        do {
            datagrams = try await LANDatagrams.open(groupAddress: "224.0.0.251", port: 5353, maxDatagramBytes: 9000)
        } catch {
            logger.error("mDNS discovery is off: cannot open UDP 5353", metadata: ["error": "\(error)"])
            return
        }
        logger.info("mDNS discovery on", metadata: ["service": "\(instanceName)", "interfaces": "\(datagrams.interfaces)"])
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // Announce twice (RFC 6762 §8.3), then browse now and again every minute.
                if let answer = await self.advertisement(addresses: datagrams.addresses) {
                    await datagrams.send(answer)
                    try? await Task.sleep(for: .seconds(1))
                    await datagrams.send(answer)
                }
                let query = DNSMessage(isResponse: false, questions: [.init(name: Self.serviceType, type: DNSMessage.ptr)]).encoded()
                while !Task.isCancelled {
                    await datagrams.send(query)
                    try? await Task.sleep(for: Self.browseInterval)
                }
            }
            group.addTask {
                for await datagram in datagrams.datagrams { await self.takeDNS(datagram, datagrams: datagrams) }
            }
            await group.next()
            group.cancelAll()
        }
        await datagrams.close()
    }

    /// This node's PTR, SRV, TXT and A records; nil when the mesh does not listen.
    private func advertisement(addresses: [[UInt8]]) -> Data? {
        guard let meshPort else { return nil }
        let ttl: UInt32 = 120
        var message = DNSMessage(isResponse: true)
        message.answers = [.init(name: Self.serviceType, ttl: 4500, data: .ptr(instanceName), unique: false)]
        message.additionals = [
            .init(name: instanceName, ttl: ttl, data: .srv(priority: 0, weight: 0, port: UInt16(meshPort), target: hostName), unique: true),
            .init(name: instanceName, ttl: 4500, data: .txt(["id=\(key.id)", "net=\(Hex.encode(LANBeacon.networkTag(networkKey)))"]), unique: true),
        ] + addresses.map { .init(name: hostName, ttl: ttl, data: .a($0), unique: true) }
        return message.encoded()
    }

    private func takeDNS(_ datagram: LANDatagrams.Datagram, datagrams: LANDatagrams) async {
        guard let host = datagram.source.ipAddress, admits(host, at: .now), let message = DNSMessage.decode(datagram.bytes) else { return }
        if message.isResponse {
            learn(from: message, source: host)
            return
        }
        let asked = message.questions.contains { question in
            let name = question.name.lowercased()
            return name == Self.serviceType || name == Self.servicesQuery || name == instanceName.lowercased() || name == hostName.lowercased()
        }
        guard asked else { return }
        // At most four answers a second, whatever is asked.
        let now = ContinuousClock.now
        if let last = lastAnswer, now - last < .milliseconds(250) { return }
        lastAnswer = now
        if message.questions.contains(where: { $0.name.lowercased() == Self.servicesQuery }) {
            var types = DNSMessage(isResponse: true)
            types.answers = [.init(name: Self.servicesQuery, ttl: 4500, data: .ptr(Self.serviceType), unique: false)]
            await datagrams.send(types.encoded())
        }
        if let answer = advertisement(addresses: datagrams.addresses) { await datagrams.send(answer) }
    }

    /// Another node's advertisement: dialled at the datagram's source and its SRV port
    /// when its TXT names an agent of this network.
    private func learn(from message: DNSMessage, source: String) {
        let records = message.answers + message.additionals
        let instances = records.compactMap { record -> String? in
            guard record.name.lowercased() == Self.serviceType, case .ptr(let instance) = record.data else { return nil }
            return instance.lowercased()
        }
        for instance in Set(instances) {
            var port: Int?
            var fields: [String: String] = [:]
            for record in records where record.name.lowercased() == instance {
                switch record.data {
                case .srv(_, _, let srvPort, _): port = Int(srvPort)
                case .txt(let strings):
                    for string in strings {
                        let parts = string.split(separator: "=", maxSplits: 1)
                        if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
                    }
                default: break
                }
            }
            guard let port, port > 0, let id = fields["id"], let agent = AgentID(id) else { continue }
            guard fields["net"] == Hex.encode(LANBeacon.networkTag(networkKey)) else {
                Self.count("foreign")
                continue
            }
            Self.count(dial(agent, host: source, port: port, via: "mdns"))
        }
    }
}

/// A token bucket: `capacity` at most, refilled at `perSecond`.
struct TokenBucket {
    let capacity: Double
    let perSecond: Double
    private var tokens: Double
    private var updated: ContinuousClock.Instant?

    init(capacity: Double, perSecond: Double) {
        self.capacity = capacity
        self.perSecond = perSecond
        tokens = capacity
    }

    /// Takes one token if there is one.
    mutating func take(at now: ContinuousClock.Instant) -> Bool {
        if let updated {
            let elapsed = now - updated
            tokens = min(capacity, tokens + (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) * perSecond)
        }
        updated = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
