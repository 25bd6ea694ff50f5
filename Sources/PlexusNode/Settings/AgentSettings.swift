import Configuration
import Foundation
import PlexusCore
import Yams

/// What this agent announces about itself (`agent:` in `config.yaml`, `PLEXUS_AGENT_*`,
/// `--capability`, `--no-announce`).
public struct AgentSettings: Sendable, Equatable {
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

    /// The keys whose values are mappings or lists of mappings, decoded from the file's
    /// YAML rather than through the reader (which holds scalars and lists of scalars).
    static let structuredKeys = ["labels", "devices"]

    /// Reads the section from a reader scoped to `agent`, `structured` values at
    /// `agent.labels` and `agent.devices`, and `extraSkills` from `--capability` or
    /// `PLEXUS_CAPABILITIES`.
    init(reading config: ConfigReader, structured: [String: Yams.Node], extraSkills: [String]) throws(PlexusError) {
        let defaults = AgentSettings()
        skills = config.stringArray(forKey: "skills", default: [])
        tools = config.stringArray(forKey: "tools", default: [])
        user = config.string(forKey: "user")
        userCertificateFile = config.string(forKey: "user_certificate")
        announceIntervalS = config.int(forKey: "announce_interval_s", default: defaults.announceIntervalS)
        announce = config.bool(forKey: "announce", default: defaults.announce)
        relay = config.bool(forKey: "relay", default: defaults.relay)
        do {
            if let node = structured["agent.labels"] { labels = try YAMLDecoder().decode([String: String].self, from: node) }
            if let node = structured["agent.devices"] { devices = try YAMLDecoder().decode([Device].self, from: node) }
        } catch {
            throw PlexusError(.invalidConfig, "agent: labels must map names to strings and devices be a list of {type, model, properties}: \(error)")
        }
        for skill in extraSkills where !skill.isEmpty && !skills.contains(skill) { skills.append(skill) }
        try validate()
    }

    func validate() throws(PlexusError) {
        guard (1...86_400).contains(announceIntervalS) else {
            throw PlexusError(.invalidConfig, "agent: announce_interval_s must be between 1 and 86400")
        }
        for name in skills + tools where !Capability.isValid(name) {
            throw PlexusError(.invalidConfig, "agent: skill and tool names are 1 to \(Capability.maxCharacters) characters")
        }
        _ = try userCertificate()
    }

    /// The section's lines in the `config.yaml` template.
    static let template = """
        # What this agent announces to the mesh (its directory record), every interval.
        # env: PLEXUS_AGENT_<KEY> (not labels and devices); PLEXUS_CAPABILITIES (comma-separated)
        # adds skills.   flags: --capability (repeatable), --no-announce
        # agent:
        #   skills: [summarize, translate]
        #   tools: [web_search]
        #   labels: {region: eu}
        #   user: alice@example.com        # claimed, not certified
        #   user_certificate: /path/cert.json   # from 'plexus certify-agent' by the user
        #   devices:
        #     - {type: gpu, model: "RTX 4090", properties: {vram_gb: 24}}
        #   announce_interval_s: 300       # a record lives 3 intervals; older than 2 is stale
        #   announce: true                 # false (or --no-announce): stay out of directories
        #   relay: true                    # forward task messages between connected peers

        """

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

    /// The record to announce, with the machine's cores and memory and the mesh address.
    /// The record to sign: these settings, plus `served`, the capabilities local workers and
    /// handlers take beyond the configured skills (`WorkerTasks.servedCapabilities`).
    func record(
        addresses: [String], relays: [AgentID], status: String, certificate: UserCertificate?, served: [String] = []
    ) -> AgentRecord {
        var record = AgentRecord(
            addresses: addresses,
            capabilities: Capabilities(
                skills: skills + served, tools: tools,
                resources: Resources(
                    cpuCores: ProcessInfo.processInfo.activeProcessorCount,
                    ramMB: Int(ProcessInfo.processInfo.physicalMemory / (1 << 20)), devices: devices)),
            labels: labels, user: user ?? certificate?.name, status: status, intervalS: announceIntervalS,
            relays: relays.isEmpty ? nil : relays)
        record.userCertificate = certificate
        return record
    }
}
