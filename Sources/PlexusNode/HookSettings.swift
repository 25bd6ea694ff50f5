import Foundation
import PlexusCore

/// What runs when an entry from another agent arrives (`hooks:` in `config.yaml`, or
/// `--hook-on-entry` and `--webhook`).
public struct HookSettings: Sendable, Equatable, Codable {
    /// A command run once per arriving entry, with the entry's JSON on stdin. Split into
    /// arguments like a shell would split words (quotes group), but never run by a shell.
    public var onEntry: String?
    /// A hook command still running after this long is killed.
    public var timeoutMs: Int = 10_000
    /// Hook commands running at once.
    public var concurrency: Int = 4
    /// Entries of one author that run the hook per minute; more are skipped.
    public var perAuthorPerMinute: Int = 60
    /// A file of agent ids (one per line); when set, only their entries run hooks.
    public var allowAuthorsFile: String?
    /// An `http(s)://` URL that each arriving entry's JSON is POSTed to.
    public var webhook: String?
    /// When set, each webhook request carries `X-Plexus-Signature-256: sha256=<hex>`, the
    /// HMAC-SHA256 of the body with this secret.
    public var webhookSecret: String?
    /// A webhook request not answered within this long counts as failed.
    public var webhookTimeoutMs: Int = 5_000
    /// Tries per entry (the first and the retries) before it is given up.
    public var webhookAttempts: Int = 5
    /// Whether history fetched by anti-entropy (when joining or subscribing) runs hooks
    /// too; by default only entries that arrive live do.
    public var backfill = false

    public init() {}

    enum CodingKeys: String, CodingKey {
        case onEntry = "on_entry", timeoutMs = "timeout_ms", concurrency
        case perAuthorPerMinute = "per_author_per_minute", allowAuthorsFile = "allow_authors_file"
        case webhook, webhookSecret = "webhook_secret", webhookTimeoutMs = "webhook_timeout_ms", webhookAttempts = "webhook_attempts"
        case backfill
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = HookSettings()
        onEntry = try container.decodeIfPresent(String.self, forKey: .onEntry)
        timeoutMs = try container.decodeIfPresent(Int.self, forKey: .timeoutMs) ?? defaults.timeoutMs
        concurrency = try container.decodeIfPresent(Int.self, forKey: .concurrency) ?? defaults.concurrency
        perAuthorPerMinute = try container.decodeIfPresent(Int.self, forKey: .perAuthorPerMinute) ?? defaults.perAuthorPerMinute
        allowAuthorsFile = try container.decodeIfPresent(String.self, forKey: .allowAuthorsFile)
        webhook = try container.decodeIfPresent(String.self, forKey: .webhook)
        webhookSecret = try container.decodeIfPresent(String.self, forKey: .webhookSecret)
        webhookTimeoutMs = try container.decodeIfPresent(Int.self, forKey: .webhookTimeoutMs) ?? defaults.webhookTimeoutMs
        webhookAttempts = try container.decodeIfPresent(Int.self, forKey: .webhookAttempts) ?? defaults.webhookAttempts
        backfill = try container.decodeIfPresent(Bool.self, forKey: .backfill) ?? defaults.backfill
    }

    func validate() throws(PlexusError) {
        guard (100...600_000).contains(timeoutMs), (1...64).contains(concurrency), (1...100_000).contains(perAuthorPerMinute) else {
            throw PlexusError(.invalidConfig, "hooks: timeout_ms 100...600000, concurrency 1...64, per_author_per_minute 1...100000")
        }
        if let onEntry, try HookSettings.arguments(of: onEntry).isEmpty {
            throw PlexusError(.invalidConfig, "hooks: on_entry is empty")
        }
        guard (100...120_000).contains(webhookTimeoutMs), (1...20).contains(webhookAttempts) else {
            throw PlexusError(.invalidConfig, "hooks: webhook_timeout_ms 100...120000, webhook_attempts 1...20")
        }
        if let webhook {
            guard let url = URLComponents(string: webhook), url.scheme == "http" || url.scheme == "https",
                  let host = url.host, !host.isEmpty
            else {
                throw PlexusError(.invalidConfig, "hooks: webhook must be an http:// or https:// URL, got '\(webhook.prefix(200))'")
            }
        }
    }

    /// Splits a command line into arguments: whitespace separates, single and double
    /// quotes group, a backslash escapes the next character. Nothing else is special.
    public static func arguments(of command: String) throws(PlexusError) -> [String] {
        var arguments: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for character in command {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" && quote != "'" {
                escaped = true
                inWord = true
            } else if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
            } else if character == "'" || character == "\"" {
                quote = character
                inWord = true
            } else if character.isWhitespace {
                if inWord { arguments.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(character)
                inWord = true
            }
        }
        guard quote == nil, !escaped else {
            throw PlexusError(.invalidConfig, "unbalanced quote or trailing backslash in the hook command")
        }
        if inWord { arguments.append(current) }
        return arguments
    }
}
