import ArgumentParser
import Logging
import Metrics
import Prometheus
import PlexusAPI
import PlexusCore
import PlexusClient
import PlexusA2A
import PlexusHooks
import PlexusNode
#if canImport(Glibc)
import Glibc
#endif
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a node: the store and the local HTTP API. Creates an identity on first run.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "HTTP API address, loopback only (default 127.0.0.1:7464; port 0 picks a free one).")
    var api: String?

    @Option(name: .long, help: "Largest accepted entry body in bytes (default 65536).")
    var maxBodyBytes: Int?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    @Option(name: .long, help: "Log format: text (default) or json (one JSON object per line).")
    var logFormat: String?

    @Option(name: .long, help: "Also append logs to this file (created 0600).")
    var logFile: String?

    @Option(name: .customLong("config"), help: "Read settings from this file instead of config.yaml in the data directory.")
    var configFile: String?

    @Option(name: .long, help: "Mesh address to accept peers on (default 0.0.0.0:7465; port 0 picks one; 'off' to only dial out).")
    var listen: String?

    @Option(name: .long, help: "A peer to connect to and keep connected, host:port (repeatable).")
    var peer: [String] = []

    @Option(name: .long, help: "Network key; only nodes with the same key connect (default plexus-main).")
    var networkKey: String?

    @Option(name: .long, help: "A command run per entry arriving from another agent, with the entry's JSON on stdin (not run by a shell).")
    var hookOnEntry: String?

    @Option(name: .long, help: "A URL each entry arriving from another agent is POSTed to as JSON (retried with backoff).")
    var webhook: String?

    @Option(name: .long, help: "A skill this agent offers, announced in its directory record (repeatable).")
    var capability: [String] = []

    @Flag(name: .long, help: "Do not announce this agent (it stays out of other nodes' directories).")
    var noAnnounce = false

    @Flag(name: .customLong("lan-discovery"), help: "Find peers on the local networks by UDP multicast beacons (and be found).")
    var lanDiscovery = false

    @Flag(name: .long, help: "Advertise this node by multicast DNS (_plexus._tcp.local.) and find others that way.")
    var mdns = false

    @Option(name: .long, help: "Serve A2A (Agent2Agent 1.0) here, host:port; beyond loopback it needs PLEXUS_A2A_TOKEN or a2a: token_file.")
    var a2a: String?

    func run() async throws {
        try await reportingErrors(json: false) {
            let directory = DataDirectory.resolve(flag: global.data)
            let config = try NodeConfig.resolve(
                directory: directory,
                overrides: .init(
                    api: api, maxBodyBytes: maxBodyBytes, logLevel: logLevel, listen: listen,
                    peers: peer.isEmpty ? nil : peer, networkKey: networkKey, hookOnEntry: hookOnEntry, webhook: webhook,
                    capabilities: capability.isEmpty ? nil : capability, announce: noAnnounce ? false : nil, logFormat: logFormat,
                    logFile: logFile, configFile: configFile, lanDiscovery: lanDiscovery ? true : nil, mdns: mdns ? true : nil,
                    a2a: a2a))
            let factory = try LogOutput.factory(for: config)
            let logger = {
                var logger = Logger(label: "plexus", factory: factory)
                logger.logLevel = Logger.Level(rawValue: config.logLevel) ?? .info
                return logger
            }()
            // Before anything creates a metric, so every counter reports to /metrics.
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            let lock = try directory.lock()
            defer { lock.release() }

            let node = try Node.open(config: config, logger: logger) { () throws(PlexusError) in
                try Passphrase.obtain()
            }
            let application = APIServer.application(node: node, token: try directory.apiToken(), registry: registry, logger: logger) { address in
                do {
                    try directory.writeAPIAddress(address)
                } catch {
                    logger.error("cannot record the API address", metadata: ["error": "\(error)"])
                }
                logger.notice("API listening", metadata: ["address": "\(address)", "agent": "\(node.id)"])
            }
            // A hook command that exits without reading its input must fail the write, not
            // end this process.
            signal(SIGPIPE, SIG_IGN)
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: node), .init(service: application)]
            if let hooks = try EntryHooks(node: node, settings: config.hooks, logger: logger) {
                services.append(.init(service: hooks))
            }
            if let hooks = try MessageHooks(node: node, settings: config.hooks, logger: logger) {
                services.append(.init(service: hooks))
            }
            if let address = config.a2a.listen {
                let token = try config.a2a.configuredToken() ?? directory.a2aToken()
                let gateway = try A2AServer.application(node: node, address: address, token: token, logger: logger) { address in
                    do {
                        try directory.writeA2AAddress(address)
                    } catch {
                        logger.error("cannot record the A2A address", metadata: ["error": "\(error)"])
                    }
                    logger.notice("A2A gateway listening", metadata: ["address": "\(address)"])
                }
                services.append(.init(service: gateway))
            }
            let group = ServiceGroup(
                configuration: .init(
                    services: services,
                    gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger))
            defer { directory.removeAddressFiles() }
            do {
                try await group.run()
            } catch {
                throw PlexusError(.internal, "node stopped: \(error)")
            }
            logger.notice("stopped")
        }
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the running node's status (exit 1 if it is not running).")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let status = try await global.client().status()
            if global.json {
                Output.printJSON(status)
                return
            }
            print("agent:     \(status.agentID)")
            print("version:   \(status.version)")
            print("data:      \(status.dataDirectory)\(status.keysEncrypted ? " (keys encrypted)" : "")")
            print("uptime:    \(status.uptimeMs / 1000) s")
            print("entries:   \(status.store.entries) from \(status.store.authors) authors (latest cursor \(status.store.latestCursor))")
            print("forked:    \(status.store.forkedAuthors) authors; tombstones: \(status.store.tombstones)")
            if let mesh = status.mesh {
                print("mesh:      \(mesh.listen ?? "not listening"), \(mesh.peers) peers, \(mesh.counts.handshakesCompleted) handshakes")
                if !mesh.counts.closed.isEmpty {
                    print("closed:    " + mesh.counts.closed.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
                }
            }
        }
    }
}

struct MetricsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Print the running node's Prometheus metrics; --json prints {\"name{labels}\": value}.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let text = try await global.client().metrics()
            guard global.json else {
                print(text, terminator: "")
                return
            }
            var samples: [String: Double] = [:]
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
                samples[String(line[..<space])] = value
            }
            Output.printJSON(samples)
        }
    }
}
