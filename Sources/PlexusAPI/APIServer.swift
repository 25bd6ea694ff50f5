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
        let service = LocalNodeService(node: node)
        let sessions = PanelSessions()
        let events = EventRoutes(service: service)
        let metrics = MetricsRoutes(node: node, registry: registry)
        let collections = routeCollections(service: service, sessions: sessions, events: events, metrics: metrics, logger: logger)
        let routes = APIRouteTable(collections)
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: MetricsMiddleware(routes: routes))
        router.add(middleware: ErrorMiddleware(routes: routes, logger: logger))
        router.add(middleware: AccessMiddleware(token: token, routes: routes))
        for collection in collections { collection.register(on: router) }
        PanelRoutes(service: service, sessions: sessions, renderer: PanelRenderer(), events: events, metrics: metrics)
            .register(on: router)
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

    /// Every feature's routes.
    static func routeCollections(node: Node, registry: PrometheusCollectorRegistry, logger: Logger) -> [any APIRouteCollection] {
        let service = LocalNodeService(node: node)
        return routeCollections(
            service: service, sessions: PanelSessions(), events: EventRoutes(service: service),
            metrics: MetricsRoutes(node: node, registry: registry), logger: logger)
    }

    static func routeCollections(
        service: LocalNodeService, sessions: PanelSessions, events: EventRoutes, metrics: MetricsRoutes, logger: Logger
    ) -> [any APIRouteCollection] {
        let node = service.node
        return [
            NodeRoutes(service: service),
            EntryRoutes(service: service),
            PeerRoutes(service: service),
            ReplicationRoutes(service: service),
            DirectoryRoutes(service: service),
            TaskRoutes(service: service),
            GroupRoutes(service: service),
            LedgerRoutes(service: service),
            MarketRoutes(service: service),
            RetentionRoutes(service: service),
            ContactRoutes(service: service),
            DirectRoutes(service: service),
            BlobRoutes(service: service),
            events,
            metrics,
            PanelLoginRoutes(sessions: sessions),
            MCPRoutes(
                sessions: MCPHTTPSessions(service: service, logger: logger),
                bodyLimit: node.config.limits.maxBodyBytes * 2 + 16 * 1024),
        ]
    }
}
