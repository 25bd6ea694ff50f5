import Configuration
import Foundation
import PlexusCore

/// A node's settings. Each comes from, in order of precedence: a command-line flag, an
/// environment variable (`PLEXUS_*`), the data directory's `config.yaml`, the default.
/// Each section (`mesh`, `hooks`, `agent`) reads, validates and documents its own keys.
public struct NodeConfig: Sendable, Equatable {
    /// The data directory.
    public var dataDirectory: String
    /// Where the HTTP API listens. Loopback only; port 0 picks a free port.
    public var api: HostPort
    /// Entry limits (body size and field sizes).
    public var limits: Limits
    /// swift-log level name: trace, debug, info, notice, warning, error, critical.
    public var logLevel: String
    /// `text` (one line per event) or `json` (one JSON object per line).
    public var logFormat: String = "text"
    /// Where logs go besides standard error: a file they are appended to (0600), or nil.
    public var logFile: String?
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
    /// The retention sweep's interval and the policies set in the file.
    public var retention: RetentionSettings
    /// Blob limits, quota, collection and serving rate.
    public var blobs: BlobSettings
    /// Which trust levels may send tasks.
    public var trust: TrustPolicy
    /// Finding peers without addresses: LAN beacons.
    public var discovery: DiscoverySettings
    /// The A2A gateway.
    public var a2a: A2ASettings

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
        self.retention = RetentionSettings()
        self.blobs = BlobSettings()
        self.trust = TrustPolicy()
        self.discovery = DiscoverySettings()
        self.a2a = A2ASettings()
    }

    /// Values given on the command line; nil means "not given".
    public struct Overrides: Sendable {
        public var api: String?
        public var maxBodyBytes: Int?
        public var logLevel: String?
        public var logFormat: String?
        public var logFile: String?
        /// A configuration file to read instead of `config.yaml` in the data directory.
        public var configFile: String?
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
        /// `true` turns LAN discovery on.
        public var lanDiscovery: Bool?
        /// `true` turns multicast DNS discovery on.
        public var mdns: Bool?
        /// Where the A2A gateway listens.
        public var a2a: String?

        public init(
            api: String? = nil, maxBodyBytes: Int? = nil, logLevel: String? = nil, listen: String? = nil,
            peers: [String]? = nil, networkKey: String? = nil, hookOnEntry: String? = nil, webhook: String? = nil,
            capabilities: [String]? = nil, announce: Bool? = nil, logFormat: String? = nil, logFile: String? = nil,
            configFile: String? = nil, lanDiscovery: Bool? = nil, mdns: Bool? = nil, a2a: String? = nil
        ) {
            self.a2a = a2a
            self.mdns = mdns
            self.lanDiscovery = lanDiscovery
            self.logFormat = logFormat
            self.logFile = logFile
            self.configFile = configFile
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

        /// The given flags as values of the settings keys they set.
        var values: [AbsoluteConfigKey: ConfigValue] {
            var values: [AbsoluteConfigKey: ConfigValue] = [:]
            func set(_ key: String, _ content: ConfigContent?) {
                if let content { values[AbsoluteConfigKey(key.split(separator: ".").map(String.init))] = ConfigValue(content, isSecret: false) }
            }
            set("api", api.map(ConfigContent.string))
            set("max_body_bytes", maxBodyBytes.map(ConfigContent.int))
            set("log_level", logLevel.map(ConfigContent.string))
            set("log_format", logFormat.map(ConfigContent.string))
            set("log_file", logFile.map(ConfigContent.string))
            set("listen", listen.map(ConfigContent.string))
            set("peers", peers.map(ConfigContent.stringArray))
            set("network_key", networkKey.map(ConfigContent.string))
            set("hooks.on_entry", hookOnEntry.map(ConfigContent.string))
            set("hooks.webhook", webhook.map(ConfigContent.string))
            set("capabilities", capabilities.map(ConfigContent.stringArray))
            set("agent.announce", announce.map(ConfigContent.bool))
            set("discovery.lan", lanDiscovery.map(ConfigContent.bool))
            set("discovery.mdns", mdns.map(ConfigContent.bool))
            set("a2a.listen", a2a.map(ConfigContent.string))
            return values
        }
    }

    /// Resolves the configuration for `directory`: flags over environment over file over
    /// defaults (see `SettingsSources`); `invalidConfig` names the first bad value.
    public static func resolve(
        directory: DataDirectory, overrides: Overrides = Overrides(),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(PlexusError) -> NodeConfig {
        var file = directory.configFile
        if let path = overrides.configFile {
            file = URL(fileURLWithPath: path)
            guard FileManager.default.isReadableFile(atPath: file.path) else {
                throw PlexusError(.invalidConfig, "--config: cannot read \(path)")
            }
        }
        let sources = try SettingsSources(
            flags: overrides.values, environment: environment, file: file,
            structuredKeys: AgentSettings.structuredKeys.map { "agent.\($0)" } + RetentionSettings.structuredKeys.map { "retention.\($0)" })
        let settings = sources.reader
        var config = NodeConfig(dataDirectory: directory.path)

        if let text = settings.string(forKey: "api") {
            config.api = try setting("api", HostPort.parse(text, defaultHost: "127.0.0.1"))
        }
        guard config.api.isLoopback else {
            throw PlexusError(.invalidConfig, "the API must listen on loopback (127.0.0.1, ::1 or localhost), not \(config.api.host)")
        }
        if let maxBody = settings.int(forKey: "max_body_bytes") {
            guard (1024...(16 << 20)).contains(maxBody) else {
                throw PlexusError(.invalidConfig, "max_body_bytes must be between 1024 and 16777216")
            }
            config.limits.maxBodyBytes = maxBody
        }
        config.logLevel = settings.string(forKey: "log_level", default: config.logLevel)
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(config.logLevel) else {
            throw PlexusError(.invalidConfig, "unknown log level '\(config.logLevel)'")
        }
        config.logFormat = settings.string(forKey: "log_format", default: config.logFormat)
        guard ["text", "json"].contains(config.logFormat) else {
            throw PlexusError(.invalidConfig, "log_format is text or json, not '\(config.logFormat)'")
        }
        config.logFile = settings.string(forKey: "log_file").flatMap { $0.isEmpty ? nil : $0 }
        if let text = settings.string(forKey: "listen") {
            config.listen = text == "off" ? nil : try setting("listen", HostPort.parse(text, defaultHost: "0.0.0.0"))
        }
        config.peers = []
        for text in settings.stringArray(forKey: "peers", default: []) {
            let text = text.trimmingCharacters(in: .whitespaces)
            if !text.isEmpty { config.peers.append(try setting("peers", HostPort.parse(text, defaultHost: "127.0.0.1"))) }
        }
        config.networkKey = settings.string(forKey: "network_key", default: config.networkKey)
        guard !config.networkKey.isEmpty, config.networkKey.utf8.count <= 256 else {
            throw PlexusError(.invalidConfig, "the network key must be 1 to 256 bytes")
        }
        config.expiryIntervalSeconds = settings.int(forKey: "expiry_interval_s", default: config.expiryIntervalSeconds)
        guard config.expiryIntervalSeconds >= 1 else { throw PlexusError(.invalidConfig, "expiry_interval_s must be at least 1") }
        config.mesh = try MeshLimits(reading: settings.scoped(to: "mesh"))
        config.hooks = try HookSettings(reading: settings.scoped(to: "hooks"))
        let extraSkills = settings.stringArray(forKey: "capabilities", default: []).map { $0.trimmingCharacters(in: .whitespaces) }
        config.agent = try AgentSettings(reading: settings.scoped(to: "agent"), structured: sources.structured, extraSkills: extraSkills)
        config.retention = try RetentionSettings(reading: settings.scoped(to: "retention"), structured: sources.structured)
        config.blobs = try BlobSettings(reading: settings.scoped(to: "blobs"))
        config.trust = try TrustPolicy(reading: settings.scoped(to: "trust"))
        config.discovery = try DiscoverySettings(reading: settings.scoped(to: "discovery"))
        config.a2a = try A2ASettings(reading: settings.scoped(to: "a2a"))
        try sources.checkReadable()
        return config
    }

    /// A setting's value read with `parse`; a value it refuses is `invalidConfig`, naming the key.
    private static func setting<Value>(
        _ key: String, _ parse: @autoclosure () throws(PlexusError) -> Value
    ) throws(PlexusError) -> Value {
        do { return try parse() } catch { throw PlexusError(.invalidConfig, "\(key): \(error.message)") }
    }

    /// The documented template `plexus init-config` writes: the top-level settings, then
    /// each section's own lines.
    public static let template = topLevelTemplate + MeshLimits.template + "\n" + HookSettings.template + "\n" + AgentSettings.template + "\n"
        + RetentionSettings.template + "\n" + BlobSettings.template + "\n" + TrustPolicy.template + "\n"
        + DiscoverySettings.template + "\n" + A2ASettings.template

    private static let topLevelTemplate = """
        # Plexus node configuration.
        # Precedence: command-line flags, then PLEXUS_* environment variables, then this file.
        # Every setting has an environment variable: PLEXUS_ and its path in capitals, dots
        # as underscores (mesh: sync_interval_ms is PLEXUS_MESH_SYNC_INTERVAL_MS); lists are
        # comma-separated.

        # HTTP API address (loopback only). Port 0 picks a free port; the bound address is
        # written to api.addr in the data directory.   env: PLEXUS_API   flag: --api
        api: 127.0.0.1:7464

        # Largest accepted entry body in bytes (1024 ... 16777216).
        # env: PLEXUS_MAX_BODY_BYTES   flag: --max-body-bytes
        max_body_bytes: 65536

        # trace, debug, info, notice, warning, error or critical.
        # env: PLEXUS_LOG_LEVEL   flag: --log-level
        log_level: info

        # text (one line per event) or json (one JSON object per line, for log shippers).
        # env: PLEXUS_LOG_FORMAT   flag: --log-format
        log_format: text

        # A file logs are also appended to (created 0600); empty: standard error only.
        # env: PLEXUS_LOG_FILE   flag: --log-file
        log_file: ""

        # Seconds between sweeps that delete expired entries (leaving tombstones).
        # env: PLEXUS_EXPIRY_INTERVAL_S
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


        """
}
