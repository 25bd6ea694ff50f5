import Foundation
import PlexusCore

/// What this agent announces about itself (`agent:` in `config.yaml`, `--capability`).
public struct AgentSettings: Sendable, Equatable, Codable {
    public var skills: [String] = []
    public var tools: [String] = []
    public var labels: [String: String] = [:]
    /// The user the agent acts for (a claim, not certified).
    public var user: String?
    /// A file holding a user certificate for this agent (`plexus certify-agent`).
    public var userCertificateFile: String?
    /// Devices to announce (CPU cores and RAM are read from the machine).
    public var devices: [Device] = []
    /// Seconds between announcements; a record lives three of them.
    public var announceIntervalS: Int = 300
    /// Whether to announce at all (off: the agent is not in others' directories).
    public var announce = true
    /// Whether to relay task messages between connected peers (DESIGN §8: on, opt-out).
    public var relay = true

    public init() {}

    enum CodingKeys: String, CodingKey {
        case skills, tools, labels, user, devices, announce, relay, announceIntervalS = "announce_interval_s"
        case userCertificateFile = "user_certificate"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = AgentSettings()
        skills = try container.decodeIfPresent([String].self, forKey: .skills) ?? []
        tools = try container.decodeIfPresent([String].self, forKey: .tools) ?? []
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        user = try container.decodeIfPresent(String.self, forKey: .user)
        userCertificateFile = try container.decodeIfPresent(String.self, forKey: .userCertificateFile)
        devices = try container.decodeIfPresent([Device].self, forKey: .devices) ?? []
        announceIntervalS = try container.decodeIfPresent(Int.self, forKey: .announceIntervalS) ?? defaults.announceIntervalS
        announce = try container.decodeIfPresent(Bool.self, forKey: .announce) ?? defaults.announce
        relay = try container.decodeIfPresent(Bool.self, forKey: .relay) ?? defaults.relay
    }

    func validate() throws(PlexusError) {
        guard (1...86_400).contains(announceIntervalS) else {
            throw PlexusError(.invalidConfig, "agent: announce_interval_s must be between 1 and 86400")
        }
        for name in skills + tools where name.isEmpty || name.count > 128 {
            throw PlexusError(.invalidConfig, "agent: skill and tool names are 1 to 128 characters")
        }
        _ = try userCertificate()
    }

    /// The record to announce, with the machine's cores and memory and the mesh address.
    /// The user certificate from `userCertificateFile`; `invalidConfig` if unreadable.
    func userCertificate() throws(PlexusError) -> UserCertificate? {
        guard let path = userCertificateFile else { return nil }
        guard let data = FileManager.default.contents(atPath: (path as NSString).expandingTildeInPath),
              let certificate = try? JSONDecoder().decode(UserCertificate.self, from: data)
        else {
            throw PlexusError(.invalidConfig, "agent: user_certificate \(path) is not a certificate written by 'plexus certify-agent'")
        }
        return certificate
    }

    func record(addresses: [String], relays: [AgentID], status: String, certificate: UserCertificate?) -> AgentRecord {
        var record = AgentRecord(
            addresses: addresses,
            capabilities: Capabilities(
                skills: skills, tools: tools,
                resources: Resources(
                    cpuCores: ProcessInfo.processInfo.activeProcessorCount,
                    ramMB: Int(ProcessInfo.processInfo.physicalMemory / (1 << 20)), devices: devices)),
            labels: labels, user: user ?? certificate?.name, status: status, intervalS: announceIntervalS,
            relays: relays.isEmpty ? nil : relays)
        record.userCertificate = certificate
        return record
    }
}
