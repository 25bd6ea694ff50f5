import Crypto
import Foundation
import PlexusCore
import SwiftProtobuf

/// The Plexus handshake (DESIGN §5, normative): Noise XX with a prologue naming the network,
/// and in messages 2 and 3 a signed `HandshakePayload` that binds the sender's Noise static
/// key to its agent's Ed25519 key. Sans-IO: bytes in, bytes out.
///
/// Initiator: `start()` gives message 1; `receive(message2)` gives message 3 and completes.
/// Responder: `receive(message1)` gives message 2; `receive(message3)` completes.
public struct PlexusHandshake: Sendable {
    /// The first 8 bytes of every Plexus prologue.
    public static let prologuePrefix = Array("plexus/1".utf8)
    /// The network key nodes use unless configured otherwise.
    public static let defaultNetworkKey = "plexus-main"
    /// The features this implementation announces.
    public static let features = ["frames/1"]

    private var noise: NoiseXXHandshake
    private let identity: AgentKey
    private let payload: Data
    private let expectedPeer: AgentID?
    private let verifiedBindings: IdentityBindingCache?
    /// The verified peer, once the handshake is complete.
    public private(set) var peer: PeerIdentity?

    /// - Parameters:
    ///   - payload: this side's signed payload from `makePayload`; made here when nil. A
    ///     node makes it once, since it only depends on its keys.
    ///   - verifiedBindings: remembers payload signatures already checked, so a peer that
    ///     reconnects with the same keys costs no second Ed25519 verification.
    public init(
        role: NoiseXXHandshake.Role, networkKey: String, identity: AgentKey,
        noiseStatic: Curve25519.KeyAgreement.PrivateKey, expectedPeer: AgentID? = nil,
        payload: Data? = nil, verifiedBindings: IdentityBindingCache? = nil,
        ephemeralKey: Curve25519.KeyAgreement.PrivateKey = .init()
    ) {
        self.noise = NoiseXXHandshake(
            role: role, prologue: Self.prologue(networkKey: networkKey), staticKey: noiseStatic, ephemeralKey: ephemeralKey)
        self.identity = identity
        self.payload = payload ?? Self.makePayload(identity: identity, noiseStatic: noiseStatic)
        self.expectedPeer = expectedPeer
        self.verifiedBindings = verifiedBindings
    }

    /// The `HandshakePayload` binding `noiseStatic` to `identity`.
    public static func makePayload(
        identity: AgentKey, noiseStatic: Curve25519.KeyAgreement.PrivateKey, features: [String] = PlexusHandshake.features
    ) -> Data {
        var payload = Plexus_HandshakePayload()
        payload.identityKey = identity.id.bytes.asData
        payload.identitySig = identity.sign(domain: .noiseStatic, noiseStatic.publicKey.rawRepresentation)
        payload.features = features
        // Serialising bytes and strings cannot fail.
        return try! payload.serializedBytes()
    }

    /// `"plexus/1" ‖ SHA-256("plexus-network:" ‖ network key)`.
    public static func prologue(networkKey: String) -> [UInt8] {
        prologuePrefix + Array(SHA256.hash(data: Array(("plexus-network:" + networkKey).utf8)))
    }

    public var isComplete: Bool { noise.isComplete && peer != nil }

    /// The Noise handshake hash, identical on both ends of a completed handshake.
    public var handshakeHash: [UInt8] { noise.handshakeHash }

    /// Initiator only: message 1.
    public mutating func start() throws(HandshakeError) -> Data {
        do {
            return try noise.writeMessage(payload: Data())
        } catch {
            throw .noise(error)
        }
    }

    /// Consumes the peer's message and returns the reply to send, if any.
    public mutating func receive(_ message: Data) throws(HandshakeError) -> Data? {
        let payload: Data
        do {
            payload = try noise.readMessage(message)
        } catch {
            throw .noise(error)
        }
        if noise.role == .responder && !noise.isComplete {
            // Message 1 carries no payload; answer with message 2 and our identity.
            return try write(self.payload)
        }
        peer = try verify(payload)
        if noise.role == .initiator {
            return try write(self.payload)
        }
        return nil
    }

    /// After completion: the transport ciphers.
    public func transportCiphers() throws(HandshakeError) -> (send: CipherState, receive: CipherState) {
        do {
            return try noise.transportCiphers()
        } catch {
            throw .noise(error)
        }
    }

    private mutating func write(_ payload: Data) throws(HandshakeError) -> Data {
        do {
            return try noise.writeMessage(payload: payload)
        } catch {
            throw .noise(error)
        }
    }

    private func verify(_ bytes: Data) throws(HandshakeError) -> PeerIdentity {
        let payload: Plexus_HandshakePayload
        do {
            payload = try Plexus_HandshakePayload(serializedBytes: bytes)
        } catch {
            throw .malformedPayload("not a protobuf HandshakePayload")
        }
        guard let agent = AgentID(bytes: payload.identityKey) else {
            throw .malformedPayload("identity_key must be 32 bytes")
        }
        guard let remoteStatic = noise.remoteStatic else { throw .noise(.outOfTurn) }
        let binding = IdentityBindingCache.Binding(
            agent: agent, noiseStatic: remoteStatic.rawRepresentation, signature: payload.identitySig)
        if verifiedBindings?.contains(binding) != true {
            guard payload.identitySig.count == 64,
                  agent.verify(signature: payload.identitySig, domain: .noiseStatic, remoteStatic.rawRepresentation)
            else { throw .badIdentitySignature }
            verifiedBindings?.insert(binding)
        }
        guard payload.features.count <= 64, payload.features.allSatisfy({ $0.utf8.count <= 64 }) else {
            throw .malformedPayload("too many or too long features")
        }
        if let expectedPeer, expectedPeer != agent {
            throw .unexpectedPeer(expected: expectedPeer, actual: agent)
        }
        guard agent != identity.id else { throw .connectedToSelf }
        return PeerIdentity(agentID: agent, noiseStatic: remoteStatic.rawRepresentation, features: payload.features)
    }
}

/// Who is on the other end of a completed handshake.
public struct PeerIdentity: Sendable, Equatable {
    public let agentID: AgentID
    /// The peer node's Noise static public key.
    public let noiseStatic: Data
    public let features: [String]
}
