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

    /// Sends and takes beacons until cancelled.
    func run() async {
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

    private func take(_ datagram: LANDatagrams.Datagram) async {
        guard let host = datagram.source.ipAddress else { return }
        let now = ContinuousClock.now
        guard total.take(at: now) else { return Self.count("rate_limited") }
        if buckets[host] == nil {
            if buckets.count >= Self.maxTracked { buckets.removeAll() }
            buckets[host] = TokenBucket(capacity: Self.perSourceBurst, perSecond: Self.perSourceRate)
        }
        guard buckets[host]?.take(at: now) == true else { return Self.count("rate_limited") }
        switch LANBeacon.read(datagram.bytes, networkKey: networkKey, nowMs: clock.nowMs) {
        case .malformed: Self.count("malformed")
        case .foreign: Self.count("foreign")
        case .stale: Self.count("stale")
        case .beacon(let agent, let port):
            guard agent != key.id else { return Self.count("own") }
            guard !mesh.connectedPeers().contains(agent) else { return Self.count("known") }
            if let last = dialled[agent], now - last < Self.redialAfter { return Self.count("known") }
            if dialled.count >= Self.maxTracked { dialled.removeAll() }
            dialled[agent] = now
            Self.count("dialled")
            logger.info("LAN discovery: dialling a beaconing agent", metadata: ["agent": "\(agent.short)", "address": "\(host):\(port)"])
            Task { [mesh, logger] in
                do {
                    _ = try await mesh.connect(host: host, port: port, expectedPeer: agent)
                    await mesh.keepConnected(host: host, port: port)
                } catch {
                    logger.info("LAN discovery: dial failed", metadata: ["agent": "\(agent.short)", "error": "\(error)"])
                }
            }
        }
    }

    /// `plexus_discovery_beacons_total{outcome}`.
    private static func count(_ outcome: String) {
        Metrics.Counter(label: "plexus_discovery_beacons_total", dimensions: [("outcome", outcome)]).increment()
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
