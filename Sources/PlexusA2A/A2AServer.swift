import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOSSL
import PlexusCore
import PlexusNode

/// The A2A gateway's HTTP server (`--a2a HOST:PORT`): its own address, apart from the
/// local API, so it can be offered beyond loopback (with its own token, and TLS when given
/// a certificate) while the API stays on 127.0.0.1.
public enum A2AServer {
    /// The application serving `node`'s gateway on `address` (`a2a: listen`). `onBound`
    /// receives the actual `host:port` once listening.
    public static func application(
        node: Node, address: HostPort, token: String, logger: Logger, onBound: @escaping @Sendable (String) async -> Void
    ) throws(PlexusError) -> some ApplicationProtocol {
        let settings = node.config.a2a
        var server = HTTPServerBuilder.http1()
        var scheme = "http"
        if let certificate = settings.tlsCertificate, let key = settings.tlsKey {
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
                let tls = TLSConfiguration.makeServerConfiguration(
                    certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
                server = try .tls(.http1(), tlsConfiguration: tls)
                scheme = "https"
            } catch {
                throw PlexusError(.invalidConfig, "a2a: cannot use the TLS certificate \(certificate) and key \(key): \(error)")
            }
        }
        let gateway = A2AGateway(service: LocalNodeService(node: node), settings: settings)
        let router = Router(context: BasicRequestContext.self)
        A2ARoutes(gateway: gateway, token: token, scheme: scheme, maxBodyBytes: node.config.limits.maxBodyBytes * 2 + 16 * 1024)
            .register(on: router)
        return Application(
            router: router, server: server,
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: "plexus-a2a"),
            onServerRunning: { channel in
                await onBound(HostPort(host: address.host, port: channel.localAddress?.port ?? address.port).description)
            },
            logger: logger)
    }
}
