import Configuration
import Foundation
import PlexusCore

/// What runs when an entry from another agent, or a direct message, arrives (`hooks:` in
/// `config.yaml`, `PLEXUS_HOOKS_*`, `--hook-on-entry` and `--webhook`).
public struct HookSettings: Sendable, Equatable {
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
    /// A command run once per direct message taken into the inbox (not quarantined ones),
    /// with the message's JSON (its content opened) on stdin; split like `onEntry`.
    public var onMessage: String?
    /// An `http(s)://` URL that each direct message taken into the inbox is POSTed to; the
    /// secret, timeout and attempts are the entry webhook's.
    public var messageWebhook: String?
    /// Whether history fetched by anti-entropy (when joining or subscribing) runs hooks
    /// too; by default only entries that arrive live do.
    public var backfill = false

    public init() {}

    /// Reads the section from a reader scoped to `hooks`; each missing key keeps its default.
    init(reading config: ConfigReader) throws(PlexusError) {
        let defaults = HookSettings()
        onEntry = config.string(forKey: "on_entry")
        timeoutMs = config.int(forKey: "timeout_ms", default: defaults.timeoutMs)
        concurrency = config.int(forKey: "concurrency", default: defaults.concurrency)
        perAuthorPerMinute = config.int(forKey: "per_author_per_minute", default: defaults.perAuthorPerMinute)
        allowAuthorsFile = config.string(forKey: "allow_authors_file")
        webhook = config.string(forKey: "webhook")
        onMessage = config.string(forKey: "on_message")
        messageWebhook = config.string(forKey: "message_webhook")
        webhookSecret = config.string(forKey: "webhook_secret", isSecret: true)
        webhookTimeoutMs = config.int(forKey: "webhook_timeout_ms", default: defaults.webhookTimeoutMs)
        webhookAttempts = config.int(forKey: "webhook_attempts", default: defaults.webhookAttempts)
        backfill = config.bool(forKey: "backfill", default: defaults.backfill)
        try validate()
    }

    func validate() throws(PlexusError) {
        guard (100...600_000).contains(timeoutMs), (1...64).contains(concurrency), (1...100_000).contains(perAuthorPerMinute) else {
            throw PlexusError(.invalidConfig, "hooks: timeout_ms 100...600000, concurrency 1...64, per_author_per_minute 1...100000")
        }
        if let onEntry, try HookSettings.arguments(of: onEntry).isEmpty {
            throw PlexusError(.invalidConfig, "hooks: on_entry is empty")
        }
        if let onMessage, try HookSettings.arguments(of: onMessage).isEmpty {
            throw PlexusError(.invalidConfig, "hooks: on_message is empty")
        }
        guard (100...120_000).contains(webhookTimeoutMs), (1...20).contains(webhookAttempts) else {
            throw PlexusError(.invalidConfig, "hooks: webhook_timeout_ms 100...120000, webhook_attempts 1...20")
        }
        for (key, value) in [("webhook", webhook), ("message_webhook", messageWebhook)] {
            guard let value else { continue }
            guard let url = URLComponents(string: value), url.scheme == "http" || url.scheme == "https",
                  let host = url.host, !host.isEmpty
            else {
                throw PlexusError(.invalidConfig, "hooks: \(key) must be an http:// or https:// URL, got '\(value.prefix(200))'")
            }
        }
    }

    /// The section's lines in the `config.yaml` template.
    static let template = """
        # A command run per entry arriving live from another agent, with the entry's JSON on stdin.
        # Split into words like a shell would (quotes group) but never run by a shell.
        # env: PLEXUS_HOOKS_<KEY>; PLEXUS_HOOK_ON_ENTRY, PLEXUS_WEBHOOK and PLEXUS_WEBHOOK_SECRET
        # also work.   flags: --hook-on-entry, --webhook
        # hooks:
        #   on_entry: "python3 /path/to/react.py"
        #   timeout_ms: 10000           # killed after this long
        #   concurrency: 4              # commands running at once; at most 256 entries wait
        #   per_author_per_minute: 60   # more entries of one author are skipped
        #   allow_authors_file: /path   # agent ids, one per line: only their entries run it
        #
        # A URL each entry arriving from another agent is POSTed to (JSON), in order, retried
        # with backoff on errors, 5xx and 429; at most 1024 entries wait (the oldest go first).
        #   webhook: http://127.0.0.1:9000/plexus
        #   webhook_secret: "..."       # adds X-Plexus-Signature-256: sha256=HMAC(body)
        #   webhook_timeout_ms: 5000
        #   webhook_attempts: 5
        #   backfill: false             # true: history fetched when joining runs them too
        #
        # The same for each direct message taken into the inbox (quarantined ones do not run
        # them), with the message's JSON, its content opened; X-Plexus-Event: dm.
        #   on_message: "python3 /path/to/answer.py"
        #   message_webhook: http://127.0.0.1:9000/plexus-dm

        """

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
