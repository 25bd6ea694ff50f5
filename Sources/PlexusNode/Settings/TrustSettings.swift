import Configuration
import PlexusCore

extension TrustPolicy {
    /// The `trust:` section (DESIGN §15): which trust levels may send tasks. Blocked
    /// contacts are refused whatever it says.
    init(reading config: ConfigReader) throws(PlexusError) {
        self.init()
        if let text = config.string(forKey: "tasks_from") {
            let levels: [String: Trust] = ["anyone": .unknown, "known": .known, "trusted": .trusted]
            guard let level = levels[text] else {
                throw PlexusError(.invalidConfig, "trust: tasks_from must be anyone, known or trusted, not '\(text.prefix(40))'")
            }
            tasksFrom = level
        }
    }

    static let template = """
        trust:
          # Whose tasks this agent takes: anyone (not blocked), known (contacts known or
          # trusted) or trusted. Contacts: plexus contact add AGENT --trust known|trusted|blocked;
          # a blocked agent's entries, tasks and connections are always refused.
          # env: PLEXUS_TRUST_TASKS_FROM
          tasks_from: anyone

        """
}
