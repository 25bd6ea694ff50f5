import Configuration
import PlexusCore

/// The `discovery:` section (DESIGN §15): LAN beacons, off unless asked for.
public struct DiscoverySettings: Sendable, Equatable {
    /// Send and take LAN beacons (`--lan-discovery`).
    public var lan = false
    /// The UDP port beacons are sent to and read on.
    public var lanPort = 7466
    /// The IPv4 multicast group beacons go to.
    public var lanGroup = "239.255.70.77"
    /// Seconds between two beacons (each one jittered by up to a fifth).
    public var beaconIntervalS = 5
    /// Advertise `_plexus._tcp.local.` by multicast DNS and browse for it (`--mdns`).
    public var mdns = false

    public init() {}

    init(reading config: ConfigReader) throws(PlexusError) {
        lan = config.bool(forKey: "lan", default: lan)
        lanPort = config.int(forKey: "lan_port", default: lanPort)
        lanGroup = config.string(forKey: "lan_group", default: lanGroup)
        beaconIntervalS = config.int(forKey: "beacon_interval_s", default: beaconIntervalS)
        mdns = config.bool(forKey: "mdns", default: mdns)
        guard (1...65_535).contains(lanPort) else { throw PlexusError(.invalidConfig, "discovery: lan_port must be from 1 to 65535") }
        guard (1...3600).contains(beaconIntervalS) else { throw PlexusError(.invalidConfig, "discovery: beacon_interval_s must be from 1 to 3600") }
        let parts = lanGroup.split(separator: ".").compactMap { UInt8($0) }
        guard parts.count == 4, (224...239).contains(parts[0]) else {
            throw PlexusError(.invalidConfig, "discovery: lan_group must be an IPv4 multicast address (224.0.0.0 to 239.255.255.255)")
        }
    }

    static let template = """
        discovery:
          # Find peers on the local networks and be found, with signed UDP multicast beacons
          # (agent id, mesh port, a hash of the network key); also --lan-discovery.
          # env: PLEXUS_DISCOVERY_LAN
          lan: false
          lan_port: 7466
          lan_group: 239.255.70.77
          beacon_interval_s: 5
          # Advertise this node as _plexus._tcp.local. by multicast DNS (DNS-SD, seen by
          # avahi-browse and zeroconf) and find others that way; also --mdns.
          # env: PLEXUS_DISCOVERY_MDNS
          mdns: false

        """
}
