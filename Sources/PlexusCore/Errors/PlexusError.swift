/// The typed error of every Plexus layer: a stable machine-readable `code` and a message
/// for people. The HTTP API returns both in its error envelope; the CLI prints the message
/// and exits non-zero.
public struct PlexusError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable error codes. Their raw values appear on the wire (HTTP, MCP, CLI `--json`).
    public enum Code: String, Sendable, Codable, CaseIterable {
        /// A request argument is missing or malformed.
        case invalidArgument
        /// A request body is not valid JSON, or has fields of the wrong type.
        case invalidJSON
        /// Entry content is not a JSON object.
        case invalidContent
        /// A body, entry or field exceeds its size limit.
        case tooLarge
        /// Missing or wrong API token.
        case unauthorized
        /// The request is not allowed from this origin.
        case forbidden
        /// No such entry, route or resource.
        case notFound
        /// The route exists but not for this HTTP method.
        case methodNotAllowed
        /// The request's content type is not JSON.
        case unsupportedMediaType
        /// A byte range outside the blob asked for.
        case rangeNotSatisfiable
        /// An entry failed to decode as protobuf or has impossible fields.
        case malformedEntry
        /// An entry's signature does not verify.
        case badSignature
        /// A group envelope or a sealed epoch key does not open: not for this key, or altered.
        case malformedEnvelope
        /// An entry of a group from an agent that may not write there: not a member, a
        /// reader, or past its cutoff.
        case notMember
        /// The author signed two different entries at one seq: the entry is kept as proof.
        case forkDetected
        /// The author is known to have forked its feed; its later entries are refused.
        case authorForked
        /// The entry was deleted or expired and is not accepted again.
        case tombstoned
        /// The identity key file cannot be read or parsed.
        case keyFileCorrupt
        /// The passphrase does not open the sealed identity key.
        case wrongPassphrase
        /// An identity already exists and `--force` was not given.
        case identityExists
        /// No identity in the data directory.
        case noIdentity
        /// The configuration file or a setting is invalid.
        case invalidConfig
        /// The local node is not running or not reachable.
        case nodeNotRunning
        /// A mesh peer could not be reached (refused, unreachable, timed out), also a task's
        /// worker whose record is known but whose addresses and relays all failed.
        case peerUnreachable
        /// A mesh peer was reached but the handshake failed (network key, identity).
        case handshakeFailed
        /// The node is at a capacity limit (a queue is full); retry shortly.
        case overloaded
        /// Nothing known can take the task: no agent offers the capability (or meets the
        /// requirements), or the agent id is in no record here, the directory or the DHT.
        /// A named thing that does not exist: the caller's to fix (404).
        case noRoute
        /// A task's deadline passed before it finished.
        case timeout
        /// The worker refused the task (capability not offered, deadline already past).
        case rejected
        /// A task or result broke the protocol's rules (wrong party, wrong state).
        case contractViolation
        /// A task failed a security check (replayed, wrongly signed).
        case securityError
        /// The worker has no room for more tasks.
        case resourceExhausted
        /// Something the worker depends on failed.
        case dependencyError
        /// A storage or other internal failure; never a client mistake.
        case `internal`
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
