import Foundation
import PlexusCore
import Yams

/// A node's settings. Each comes from, in order of precedence: a command-line flag, an
/// environment variable (`PLEXUS_*`), the data directory's `config.yaml`, the default.
public struct NodeConfig: Sendable, Equatable {
    /// The data directory.
    public var dataDirectory: String
    /// Where the HTTP API listens. Loopback only; port 0 picks a free port.
    public var api: HostPort
    /// Entry limits (body size and field sizes).
    public var limits: Limits
    /// swift-log level name: trace, debug, info, notice, warning, error, critical.
    public var logLevel: String
    /// How often expired entries are removed, in seconds.
    public var expiryIntervalSeconds: Int
    /// Where the mesh listens; nil for dial-out only (a worker behind NAT).
    public var listen: HostPort?
    /// Bootstrap peers (`host:port`), dialled and kept connected.
    public var peers: [HostPort]
    /// Only nodes with the same network key can connect (DESIGN §5).
    public var networkKey: String
    /// Timeouts, caps and rates of the mesh transport (`mesh:` in config.yaml).
    public var mesh: MeshLimits
    /// The hook command run for arriving entries.
    public var hooks: HookSettings
    /// What this agent announces (skills, tools, labels, user, devices, interval).
    public var agent: AgentSettings

    public static let defaultAPIPort = 7464
    public static let defaultMeshPort = 7465
    public static let defaultNetworkKey = "plexus-main"

    public init(
        dataDirectory: String, api: HostPort = HostPort(host: "127.0.0.1", port: NodeConfig.defaultAPIPort),
        limits: Limits = .standard, logLevel: String = "info", expiryIntervalSeconds: Int = 60,
        listen: HostPort? = HostPort(host: "0.0.0.0", port: NodeConfig.defaultMeshPort), peers: [HostPort] = [],
        networkKey: String = NodeConfig.defaultNetworkKey
    ) {
        self.dataDirectory = dataDirectory
        self.api = api
        self.limits = limits
        self.logLevel = logLevel
        self.expiryIntervalSeconds = expiryIntervalSeconds
        self.listen = listen
        self.peers = peers
        self.networkKey = networkKey
        self.mesh = MeshLimits()
        self.hooks = HookSettings()
        self.agent = AgentSettings()
    }

    /// Values given on the command line; nil means "not given".
    public struct Overrides: Sendable {
        public var api: String?
        public var maxBodyBytes: Int?
        public var logLevel: String?
        /// `host:port`, or `off` to not listen.
        public var listen: String?
        public var peers: [String]?
        public var networkKey: String?
        public var hookOnEntry: String?
        public var webhook: String?
        /// Skills to announce, added to those in the file.
        public var capabilities: [String]?
        /// `false` turns announcements off.
        public var announce: Bool?

        public init(
            api: String? = nil, maxBodyBytes: Int? = nil, logLevel: String? = nil, listen: String? = nil,
            peers: [String]? = nil, networkKey: String? = nil, hookOnEntry: String? = nil, webhook: String? = nil,
            capabilities: [String]? = nil, announce: Bool? = nil
        ) {
            self.capabilities = capabilities
            self.announce = announce
            self.hookOnEntry = hookOnEntry
            self.webhook = webhook
            self.api = api
            self.maxBodyBytes = maxBodyBytes
            self.logLevel = logLevel
            self.listen = listen
            self.peers = peers
            self.networkKey = networkKey
        }
    }

    /// The keys of `config.yaml`; all optional.
    struct File: Codable {
        var api: String?
        var maxBodyBytes: Int?
        var logLevel: String?
        var expiryIntervalSeconds: Int?
        var listen: String?
        var peers: [String]?
        var networkKey: String?
        var mesh: MeshLimits?
        var hooks: HookSettings?
        var agent: AgentSettings?

        enum CodingKeys: String, CodingKey {
            case listen, peers, mesh, hooks, agent, networkKey = "network_key"
            case api
            case maxBodyBytes = "max_body_bytes"
            case logLevel = "log_level"
            case expiryIntervalSeconds = "expiry_interval_s"
        }
    }

    /// Resolves the configuration for `directory`: flags over environment over file.
    public static func resolve(
        directory: DataDirectory, overrides: Overrides = Overrides(),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(PlexusError) -> NodeConfig {
        let file = try loadFile(directory.configFile)
        var config = NodeConfig(dataDirectory: directory.path)

        if let text = overrides.api ?? environment["PLEXUS_API"] ?? file.api {
            config.api = try HostPort.parse(text, defaultHost: "127.0.0.1")
        }
        guard config.api.isLoopback else {
            throw PlexusError(.invalidConfig, "the API must listen on loopback (127.0.0.1, ::1 or localhost), not \(config.api.host)")
        }
        var maxBody = file.maxBodyBytes
        if let text = environment["PLEXUS_MAX_BODY_BYTES"] {
            guard let value = Int(text) else { throw PlexusError(.invalidConfig, "PLEXUS_MAX_BODY_BYTES is not a number: \(text)") }
            maxBody = value
        }
        maxBody = overrides.maxBodyBytes ?? maxBody
        if let maxBody {
            guard (1024...(16 << 20)).contains(maxBody) else {
                throw PlexusError(.invalidConfig, "max_body_bytes must be between 1024 and 16777216")
            }
            config.limits.maxBodyBytes = maxBody
        }
        config.logLevel = overrides.logLevel ?? environment["PLEXUS_LOG_LEVEL"] ?? file.logLevel ?? config.logLevel
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(config.logLevel) else {
            throw PlexusError(.invalidConfig, "unknown log level '\(config.logLevel)'")
        }
        if let text = overrides.listen ?? environment["PLEXUS_LISTEN"] ?? file.listen {
            config.listen = text == "off" ? nil : try HostPort.parse(text, defaultHost: "0.0.0.0")
        }
        let peerTexts = overrides.peers ?? environment["PLEXUS_PEERS"].map {
            $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        } ?? file.peers ?? []
        config.peers = []
        for text in peerTexts { config.peers.append(try HostPort.parse(text, defaultHost: "127.0.0.1")) }
        config.networkKey = overrides.networkKey ?? environment["PLEXUS_NETWORK_KEY"] ?? file.networkKey ?? config.networkKey
        guard !config.networkKey.isEmpty, config.networkKey.utf8.count <= 256 else {
            throw PlexusError(.invalidConfig, "the network key must be 1 to 256 bytes")
        }
        if let mesh = file.mesh {
            try mesh.validate()
            config.mesh = mesh
        }
        var hooks = file.hooks ?? HookSettings()
        if let command = overrides.hookOnEntry ?? environment["PLEXUS_HOOK_ON_ENTRY"] { hooks.onEntry = command }
        if let url = overrides.webhook ?? environment["PLEXUS_WEBHOOK"] { hooks.webhook = url }
        if let secret = environment["PLEXUS_WEBHOOK_SECRET"] { hooks.webhookSecret = secret }
        try hooks.validate()
        config.hooks = hooks
        var agent = file.agent ?? AgentSettings()
        let extraSkills = overrides.capabilities
            ?? environment["PLEXUS_CAPABILITIES"].map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            ?? []
        for skill in extraSkills where !skill.isEmpty && !agent.skills.contains(skill) { agent.skills.append(skill) }
        if let announce = overrides.announce { agent.announce = announce }
        try agent.validate()
        config.agent = agent
        if let interval = file.expiryIntervalSeconds {
            guard interval >= 1 else { throw PlexusError(.invalidConfig, "expiry_interval_s must be at least 1") }
            config.expiryIntervalSeconds = interval
        }
        return config
    }

    private static func loadFile(_ url: URL) throws(PlexusError) -> File {
        guard let data = try? Data(contentsOf: url) else { return File() }
        let text = String(decoding: data, as: UTF8.self)
        do {
            // An empty or all-comment file decodes as nothing.
            guard try Yams.load(yaml: text) != nil else { return File() }
            return try YAMLDecoder().decode(File.self, from: text)
        } catch {
            throw PlexusError(.invalidConfig, "\(url.path) is not valid: \(error)")
        }
    }

    /// The documented template `plexus init-config` writes.
    public static let template = """
        # Plexus node configuration.
        # Precedence: command-line flags, then PLEXUS_* environment variables, then this file.

        # HTTP API address (loopback only). Port 0 picks a free port; the bound address is
        # written to api.addr in the data directory.   env: PLEXUS_API   flag: --api
        api: 127.0.0.1:7464

        # Largest accepted entry body in bytes (1024 ... 16777216).
        # env: PLEXUS_MAX_BODY_BYTES   flag: --max-body-bytes
        max_body_bytes: 65536

        # trace, debug, info, notice, warning, error or critical.
        # env: PLEXUS_LOG_LEVEL   flag: --log-level
        log_level: info

        # Seconds between sweeps that delete expired entries (leaving tombstones).
        expiry_interval_s: 60

        # Mesh address to accept peers on, or "off" to only dial out (a worker behind NAT).
        # env: PLEXUS_LISTEN   flag: --listen
        listen: 0.0.0.0:7465

        # Peers to connect to at start and keep connected (host:port).
        # env: PLEXUS_PEERS (comma-separated)   flag: --peer (repeatable)
        peers: []

        # Nodes connect only to nodes with the same network key.
        # env: PLEXUS_NETWORK_KEY   flag: --network-key
        network_key: plexus-main

        # Limits of the mesh transport; every one has a default.
        mesh:
          handshake_timeout_ms: 5000    # a connection must finish its handshake in this time
          idle_timeout_ms: 45000        # closed when nothing arrives for this long (pings every 15 s)
          max_connections: 256
          max_connections_per_ip: 32
          max_frame_bytes: 4194304      # a larger announced frame closes the connection at once
          frame_rate: 50000             # sustained frames per second per peer ...
          frame_burst: 100000           # ... and the burst above it; beyond, the peer is dropped
          sync_interval_ms: 5000        # anti-entropy: reconcile with each topic neighbour this often
          ihave_rate: 5000              # entry ids a peer may announce per second ...
          ihave_burst: 20000            # ... and at once; beyond, it is counted as misbehaving

        # A command run per entry arriving live from another agent, with the entry's JSON on stdin.
        # Split into words like a shell would (quotes group) but never run by a shell.
        # env: PLEXUS_HOOK_ON_ENTRY   flag: --hook-on-entry
        # hooks:
        #   on_entry: "python3 /path/to/react.py"
        #   timeout_ms: 10000           # killed after this long
        #   concurrency: 4              # commands running at once; at most 256 entries wait
        #   per_author_per_minute: 60   # more entries of one author are skipped
        #   allow_authors_file: /path   # agent ids, one per line: only their entries run it
        #
        # A URL each entry arriving from another agent is POSTed to (JSON), in order, retried
        # with backoff on errors, 5xx and 429; at most 1024 entries wait (the oldest go first).
        # env: PLEXUS_WEBHOOK, PLEXUS_WEBHOOK_SECRET   flag: --webhook
        #   webhook: http://127.0.0.1:9000/plexus
        #   webhook_secret: "..."       # adds X-Plexus-Signature-256: sha256=HMAC(body)
        #   webhook_timeout_ms: 5000
        #   webhook_attempts: 5
        #   backfill: false             # true: history fetched when joining runs them too

        # What this agent announces to the mesh (its directory record), every interval.
        # env: PLEXUS_CAPABILITIES (comma-separated skills)   flag: --capability (repeatable)
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
}
