import Configuration
import PlexusCore

extension TrustPolicy {
    /// The `trust:` section (DESIGN §15): which trust levels may send tasks. Blocked
    /// contacts are refused whatever it says.
    init(reading config: ConfigReader) throws(PlexusError) {
        self.init()
        tasksFrom = try Self.level(config, "tasks_from")
        messagesFrom = try Self.level(config, "messages_from")
    }

    private static func level(_ config: ConfigReader, _ key: ConfigKey) throws(PlexusError) -> Trust {
        guard let text = config.string(forKey: key) else { return .unknown }
        let levels: [String: Trust] = ["anyone": .unknown, "known": .known, "trusted": .trusted]
        guard let level = levels[text] else {
            throw PlexusError(.invalidConfig, "trust: \(key) must be anyone, known or trusted, not '\(text.prefix(40))'")
        }
        return level
    }

    static let template = """
        trust:
          # Whose tasks this agent takes: anyone (not blocked), known (contacts known or
          # trusted) or trusted. Contacts: plexus contact add AGENT --trust known|trusted|blocked;
          # a blocked agent's entries, tasks and connections are always refused.
          # env: PLEXUS_TRUST_TASKS_FROM
          tasks_from: anyone
          # Whose direct messages go to the inbox; others' (not blocked) are kept apart as
          # quarantined (plexus dm list --quarantined). Blocked senders' are refused.
          # env: PLEXUS_TRUST_MESSAGES_FROM
          messages_from: anyone

        """
}
