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

    let key: AgentKey
    let networkKey: String
    /// The mesh port beacons name; nil when the mesh does not listen (beacons are then
    /// only taken, not sent).
    let meshPort: Int?
    private let settings: DiscoverySettings
    let mesh: ConnectionManager
    private let clock: NodeClock
    let logger: Logger
    private var buckets: [String: TokenBucket] = [:]
    private var total = TokenBucket(capacity: LANDiscovery.totalRate, perSecond: LANDiscovery.totalRate)
    private var dialled: [AgentID: ContinuousClock.Instant] = [:]
    /// When this node last answered an mDNS query.
    var lastAnswer: ContinuousClock.Instant?

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

    /// Whether a datagram from `host` may be looked at: within its source's rate, then the
    /// total. The source is asked first, so one flooding host spends only its own budget and
    /// cannot starve the beacons of others.
    func admits(_ host: String, at now: ContinuousClock.Instant) -> Bool {
        if buckets[host] == nil {
            if buckets.count >= Self.maxTracked { buckets.removeAll() }
            buckets[host] = TokenBucket(capacity: Self.perSourceBurst, perSecond: Self.perSourceRate)
        }
        guard buckets[host]?.take(at: now) == true else { return false }
        return total.take(at: now)
    }

    private func take(_ datagram: LANDatagrams.Datagram) async {
        guard let host = datagram.source.ipAddress else { return }
        guard admits(host, at: .now) else { return Self.count("rate_limited") }
        guard !datagram.oversized else { return Self.count("oversize") }
        switch LANBeacon.read(datagram.bytes, networkKey: networkKey, nowMs: clock.nowMs) {
        case .malformed: Self.count("malformed")
        case .foreign: Self.count("foreign")
        case .stale: Self.count("stale")
        case .beacon(let agent, let port): Self.count(dial(agent, host: host, port: port, via: "beacon"))
        }
    }

    /// Dials a discovered agent at `host:port` with its id pinned, unless it is this one,
    /// connected, or dialled lately; returns what was done.
    func dial(_ agent: AgentID, host: String, port: Int, via: String) -> String {
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
    static func count(_ outcome: String) {
        Metrics.Counter(label: "plexus_discovery_beacons_total", dimensions: [("outcome", outcome)]).increment()
    }
}
