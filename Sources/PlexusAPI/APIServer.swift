import Hummingbird
import Logging
import NIOCore
import PlexusCore
import PlexusNode

/// The node's local HTTP API (DESIGN §10): loopback only, bearer token, JSON envelope.
public enum APIServer {
    /// Builds the Hummingbird application for `node`. `onBound` receives the actual
    /// `host:port` once listening (useful with port 0).
    public static func application(
        node: Node, token: String, logger: Logger, onBound: @escaping @Sendable (String) async -> Void
    ) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ErrorMiddleware(logger: logger))
        router.add(middleware: AccessMiddleware(token: token))
        NodeRoutes(node: node).register(on: router)
        EntryRoutes(node: node).register(on: router)
        PeerRoutes(node: node).register(on: router)
        ReplicationRoutes(node: node).register(on: router)
        EventRoutes(node: node).register(on: router)
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
