import Hummingbird
import Logging
import NIOCore
import PlexusCore
import PlexusMCP
import PlexusNode
import Prometheus

/// The node's local HTTP API (DESIGN §10): loopback only, bearer token, JSON envelope.
public enum APIServer {
    /// Builds the Hummingbird application for `node`. `onBound` receives the actual
    /// `host:port` once listening (useful with port 0). `/metrics` shows `registry`: bootstrap
    /// swift-metrics with a `PrometheusMetricsFactory` over the same registry so that what the
    /// code counts appears there.
    public static func application(
        node: Node, token: String, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), logger: Logger,
        onBound: @escaping @Sendable (String) async -> Void
    ) -> some ApplicationProtocol {
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ErrorMiddleware(logger: logger))
        router.add(middleware: AccessMiddleware(token: token))
        let service = LocalNodeService(node: node)
        NodeRoutes(service: service).register(on: router)
        EntryRoutes(service: service).register(on: router)
        PeerRoutes(service: service).register(on: router)
        ReplicationRoutes(service: service).register(on: router)
        DirectoryRoutes(service: service).register(on: router)
        TaskRoutes(service: service).register(on: router)
        EventRoutes(node: node).register(on: router)
        MetricsRoutes(node: node, registry: registry).register(on: router)
        MCPRoutes(
            sessions: MCPHTTPSessions(service: service, logger: logger),
            bodyLimit: node.config.limits.maxBodyBytes * 2 + 16 * 1024
        ).register(on: router)
        let address = node.config.api
        return Application(
            router: router,
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: "plexus"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? address.port
                await onBound(HostPort(host: address.host, port: port).description)
            },
            logger: logger)
    }
}
