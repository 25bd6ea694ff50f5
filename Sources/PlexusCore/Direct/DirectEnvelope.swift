import Crypto
import Foundation

/// Direct messages on the wire (PROTOCOL.md §16): a `Direct` frame is written and signed by
/// its origin for one target; a message's content is sealed to the target's exchange key
/// (HPKE, `plexus/dm/v1` ‖ target id), so relays and every store on the way hold only
/// ciphertext, and the signature says who wrote it even when it came through a relay.
public enum DirectEnvelope {
    /// The HPKE label of message contents.
    public static let label = "plexus/dm/v1"
    /// The HPKE label of the copy a sender keeps of its own message (sealed to itself).
    public static let ownCopyLabel = "plexus/dm-sent/v1"
    /// The largest content, in bytes of UTF-8 JSON.
    public static let maxContentBytes = 64 * 1024

    /// A signed message with `content` sealed to `target`'s exchange key.
    public static func message(
        id: DirectID, content: Data, from key: AgentKey, to target: AgentID, targetKey: Curve25519.KeyAgreement.PublicKey, timeMs: Int64
    ) throws(PlexusError) -> Plexus_Direct {
        guard content.count <= maxContentBytes else {
            throw PlexusError(.tooLarge, "a direct message is at most \(maxContentBytes) bytes of content; this one is \(content.count)")
        }
        let sealed = try AgentSeal.seal(content, to: target, key: targetKey, label: label)
        var direct = Plexus_Direct()
        direct.id = Data(id.bytes)
        direct.message = .with {
            $0.timeMs = UInt64(max(0, timeMs))
            $0.encapsulatedKey = sealed.encapsulatedKey
            $0.ciphertext = sealed.ciphertext
        }
        return sign(direct, by: key, for: target)
    }

    /// The target's answer to message `id`: stored (`refusal` nil) or refused, signed.
    public static func answer(to id: DirectID, refusal: String?, from key: AgentKey, to origin: AgentID) -> Plexus_Direct {
        var direct = Plexus_Direct()
        direct.id = Data(id.bytes)
        if let refusal { direct.refused = String(refusal.prefix(200)) } else { direct.ack = true }
        return sign(direct, by: key, for: origin)
    }

    /// Sets origin, target and the signature.
    static func sign(_ direct: Plexus_Direct, by key: AgentKey, for target: AgentID) -> Plexus_Direct {
        var signed = direct
        signed.origin = key.id.bytes.asData
        signed.target = target.bytes.asData
        signed.signature = key.sign(domain: .direct, signedBytes(of: signed))
        return signed
    }

    /// The writer of a frame whose signature verifies, or nil.
    public static func verifiedOrigin(of direct: Plexus_Direct) -> AgentID? {
        guard let origin = AgentID(bytes: direct.origin), direct.signature.count == 64,
              origin.verify(signature: direct.signature, domain: .direct, signedBytes(of: direct))
        else { return nil }
        return origin
    }

    /// The content of a message sealed to `key`'s agent, or `malformedEnvelope`.
    public static func open(_ message: Plexus_DirectMessage, for recipient: AgentID, with key: ExchangeKey) throws(PlexusError) -> Data {
        try AgentSeal.open(
            encapsulatedKey: message.encapsulatedKey, ciphertext: message.ciphertext, recipient: recipient, key: key, label: label)
    }

    /// `len(id) ‖ id ‖ len(origin) ‖ origin ‖ len(target) ‖ target ‖ kind ‖ fields`, every
    /// len 4 bytes big-endian; kind 1 message (time_ms 8 bytes BE, len ‖ encapsulated key,
    /// len ‖ ciphertext), 2 ack (nothing), 3 refused (len ‖ reason).
    public static func signedBytes(of direct: Plexus_Direct) -> Data {
        var output = Data()
        func field(_ bytes: Data) {
            withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { output.append(contentsOf: $0) }
            output.append(bytes)
        }
        field(direct.id)
        field(direct.origin)
        field(direct.target)
        switch direct.kind {
        case .message(let message)?:
            output.append(1)
            withUnsafeBytes(of: message.timeMs.bigEndian) { output.append(contentsOf: $0) }
            field(message.encapsulatedKey)
            field(message.ciphertext)
        case .ack?:
            output.append(2)
        case .refused(let reason)?:
            output.append(3)
            field(Data(reason.utf8))
        case nil:
            output.append(0)
        }
        return output
    }
}

/// A direct message's id: 16 random bytes chosen by its sender, shown as 32 hex digits.
public struct DirectID: Hashable, Sendable, Codable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        self.bytes = Array(bytes)
    }

    public static func random() -> DirectID {
        // 16 bytes: always a valid id.
        DirectID(bytes: RandomBytes.take(16))!
    }

    /// Parses 32 hex digits.
    public static func parse(_ text: String) throws(PlexusError) -> DirectID {
        guard let bytes = Hex.decode(text), let id = DirectID(bytes: bytes) else {
            throw PlexusError(.invalidArgument, "not a message id (32 hex digits): '\(text.prefix(40))'")
        }
        return id
    }

    public var description: String { Hex.encode(bytes) }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let bytes = Hex.decode(text), let id = DirectID(bytes: bytes) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a message id"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
