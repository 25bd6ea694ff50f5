import Configuration
import Foundation
import PlexusCore
import Yams

/// The `retention:` section: how often the sweep runs and the policies set in the file
/// (more are added at run time through the API; those are kept in the store).
public struct RetentionSettings: Sendable, Equatable {
    /// Seconds between sweeps.
    public var intervalS = 600
    /// Seconds a tombstone of a single id is kept before it collapses into its feed's
    /// low-water mark (DESIGN §6).
    public var tombstoneMaxAgeS: Int64 = 7 * 86_400
    /// Policies from `config.yaml`, in its order.
    public var policies: [RetentionPolicyRequest] = []

    static let structuredKeys = ["policies"]

    public init() {}

    /// One policy as the file writes it: `max_age` as a duration (`7d`, `12h`, `90`).
    private struct FilePolicy: Decodable {
        var topic: String?
        var author: String?
        var maxAge: String?
        var maxCount: Int64?
        var compactKey: String?

        enum CodingKeys: String, CodingKey {
            case topic, author
            case maxAge = "max_age", maxCount = "max_count", compactKey = "compact_key"
        }
    }

    init(reading config: ConfigReader, structured: [String: Yams.Node]) throws(PlexusError) {
        intervalS = config.int(forKey: "interval_s", default: intervalS)
        guard (1...86_400 * 7).contains(intervalS) else { throw PlexusError(.invalidConfig, "retention: interval_s must be from 1 to 604800") }
        if let text = config.string(forKey: "tombstone_max_age") {
            do throws(PlexusError) {
                tombstoneMaxAgeS = try RetentionPolicyRequest.seconds(from: text)
            } catch {
                throw PlexusError(.invalidConfig, "retention: tombstone_max_age: \(error.message)")
            }
        }
        guard let node = structured["retention.policies"] else { return }
        let files: [FilePolicy]
        do {
            files = try YAMLDecoder().decode([FilePolicy].self, from: node)
        } catch {
            throw PlexusError(.invalidConfig, "retention: policies must be a list of {topic, author, max_age, max_count, compact_key}: \(error)")
        }
        for (index, file) in files.enumerated() {
            do throws(PlexusError) {
                let author = try file.author.map { text throws(PlexusError) in
                    guard let id = AgentID(text) else { throw PlexusError(.invalidArgument, "author must be an agent id") }
                    return id
                }
                let request = RetentionPolicyRequest(
                    topic: file.topic, author: author, maxAgeS: try file.maxAge.map(RetentionPolicyRequest.seconds(from:)),
                    maxCount: file.maxCount, compactKey: file.compactKey)
                policies.append(try request.validated())
            } catch {
                throw PlexusError(.invalidConfig, "retention: policy \(index + 1): \(error.message)")
            }
        }
    }

    static let template = """
        retention:
          # Seconds between retention sweeps (plexus retention run sweeps at once).
          # env: PLEXUS_RETENTION_INTERVAL_S
          interval_s: 600
          # How long a tombstone of a single deleted, expired or swept entry is kept before
          # it collapses into its feed's low-water mark (below which nothing is kept or
          # fetched again), so the store stays bounded.
          # env: PLEXUS_RETENTION_TOMBSTONE_MAX_AGE
          tombstone_max_age: 7d
          # Policies: scope (topic or author; neither = every topic) and bounds (max_age as
          # 90, 45s, 30m, 12h, 7d or 2w by receive time; max_count per topic; compact_key:
          # keep the newest entry per value of a JSON content field). Own entries are kept
          # unless a policy names this agent as author; group topics follow their group.
          policies: []
          #  - topic: weather
          #    max_age: 7d
          #  - topic: prices
          #    compact_key: $.symbol

        """
}
