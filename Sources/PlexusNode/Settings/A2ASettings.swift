import Configuration
import Foundation
import PlexusCore

/// The `a2a:` section: the Agent2Agent gateway (A2A 1.0, JSON-RPC binding), off unless an
/// address is given. A2A clients reach the capabilities behind this node with a bearer
/// token; their messages become Plexus tasks routed into the mesh.
public struct A2ASettings: Sendable, Equatable {
    /// Where the gateway listens (`--a2a HOST:PORT`); nil: off.
    public var listen: HostPort?
    /// A file holding the bearer token (its first line).
    public var tokenFile: String?
    /// The bearer token itself, from `PLEXUS_A2A_TOKEN` (a secret: never logged).
    public var token: String?
    /// Also offer, as skills, every capability in the directory, not only this node's and its
    /// local workers'.
    public var directorySkills = false
    /// The agent card's name and description; by default they name this node.
    public var name: String?
    public var description: String?
    /// PEM files of a certificate chain and its private key: the gateway then speaks HTTPS.
    public var tlsCertificate: String?
    public var tlsKey: String?

    public init() {}

    init(reading config: ConfigReader) throws(PlexusError) {
        if let text = config.string(forKey: "listen"), !text.isEmpty, text != "off" {
            do {
                listen = try HostPort.parse(text, defaultHost: "127.0.0.1")
            } catch {
                throw PlexusError(.invalidConfig, "a2a: listen: \(error.message)")
            }
        }
        tokenFile = config.string(forKey: "token_file").flatMap { $0.isEmpty ? nil : $0 }
        token = config.string(forKey: "token", isSecret: true).flatMap { $0.isEmpty ? nil : $0 }
        directorySkills = config.bool(forKey: "directory_skills", default: directorySkills)
        name = config.string(forKey: "name")
        description = config.string(forKey: "description")
        tlsCertificate = config.string(forKey: "tls_certificate").flatMap { $0.isEmpty ? nil : $0 }
        tlsKey = config.string(forKey: "tls_key").flatMap { $0.isEmpty ? nil : $0 }
        guard (tlsCertificate == nil) == (tlsKey == nil) else {
            throw PlexusError(.invalidConfig, "a2a: tls_certificate and tls_key go together")
        }
        if let listen, !listen.isLoopback, token == nil, tokenFile == nil {
            throw PlexusError(
                .invalidConfig,
                "a2a: listening on \(listen) (beyond loopback) needs a token: set PLEXUS_A2A_TOKEN or a2a: token_file")
        }
    }

    /// The configured bearer token: `token`, else the first line of `token_file`; nil when
    /// neither is set (on loopback the data directory's `a2a.token` is used then).
    public func configuredToken() throws(PlexusError) -> String? {
        if let token { return token }
        guard let tokenFile else { return nil }
        let line = (try? String(contentsOfFile: tokenFile, encoding: .utf8))?
            .split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) }
        guard let line, line.count >= 16 else {
            throw PlexusError(.invalidConfig, "a2a: token_file \(tokenFile) must hold a token of at least 16 characters on its first line")
        }
        return line
    }

    static let template = """
        a2a:
          # Serve A2A (Agent2Agent 1.0: agent card, JSON-RPC, SSE) here; also --a2a HOST:PORT.
          # A message names a skill in metadata.skill and becomes a Plexus task.
          # listen: 127.0.0.1:7467
          # Bearer token: PLEXUS_A2A_TOKEN, or the first line of token_file; on loopback
          # without either, the node makes a2a.token in the data directory. Beyond loopback
          # a token must be given.
          # token_file: /path/to/token
          directory_skills: false     # true: every capability in the directory is a skill
          # name: "My agents"
          # description: "What they do"
          # tls_certificate: /path/cert.pem   # with tls_key: HTTPS
          # tls_key: /path/key.pem

        """
}
