import Crypto
import Foundation

/// The `Noise_XX_25519_ChaChaPoly_SHA256` handshake (Noise spec revision 34) as a sans-IO
/// state machine: it turns payloads into handshake messages and back, and never touches
/// a socket or a clock. Keys, including the ephemeral one, are injected.
///
/// ```
/// XX:
///   -> e
///   <- e, ee, s, es
///   -> s, se
/// ```
public struct NoiseXXHandshake: Sendable {
    public static let protocolName = "Noise_XX_25519_ChaChaPoly_SHA256"
    static let dhLength = 32

    public enum Role: Sendable { case initiator, responder }

    public let role: Role
    private var symmetric: SymmetricState
    private let localStatic: Curve25519.KeyAgreement.PrivateKey
    private let localEphemeral: Curve25519.KeyAgreement.PrivateKey
    private var remoteEphemeral: Curve25519.KeyAgreement.PublicKey?
    /// The peer's static key, known after message 2 (initiator) or 3 (responder).
    public private(set) var remoteStatic: Curve25519.KeyAgreement.PublicKey?
    /// Index of the next message of the pattern (0, 1, 2); 3 when complete.
    private var step = 0

    /// Starts a handshake. `ephemeral` is generated when not given (tests inject it).
    public init(
        role: Role, prologue: some DataProtocol, staticKey: Curve25519.KeyAgreement.PrivateKey,
        ephemeralKey: Curve25519.KeyAgreement.PrivateKey = .init()
    ) {
        self.role = role
        self.localStatic = staticKey
        self.localEphemeral = ephemeralKey
        self.symmetric = SymmetricState(protocolName: Self.protocolName)
        symmetric.mixHash(prologue)
    }

    /// Whether it is this side's turn to write.
    public var isMyTurnToWrite: Bool {
        switch role {
        case .initiator: step == 0 || step == 2
        case .responder: step == 1
        }
    }

    public var isComplete: Bool { step == 3 }

    /// The handshake hash `h`; after completion it identifies the session (channel binding).
    public var handshakeHash: [UInt8] { symmetric.handshakeHash }

    /// Writes the next handshake message carrying `payload`.
    public mutating func writeMessage(payload: some DataProtocol) throws(NoiseError) -> Data {
        guard !isComplete, isMyTurnToWrite else { throw .outOfTurn }
        var message = Data()
        switch step {
        case 0:  // -> e
            let e = localEphemeral.publicKey.rawRepresentation
            message.append(e)
            symmetric.mixHash(e)
        case 1:  // <- e, ee, s, es
            let e = localEphemeral.publicKey.rawRepresentation
            message.append(e)
            symmetric.mixHash(e)
            symmetric.mixKey(try Self.dh(localEphemeral, try required(remoteEphemeral)))
            message.append(try symmetric.encryptAndHash(localStatic.publicKey.rawRepresentation))
            symmetric.mixKey(try Self.dh(localStatic, try required(remoteEphemeral)))
        default:  // -> s, se
            message.append(try symmetric.encryptAndHash(localStatic.publicKey.rawRepresentation))
            symmetric.mixKey(try Self.dh(localStatic, try required(remoteEphemeral)))
        }
        message.append(try symmetric.encryptAndHash(payload))
        step += 1
        guard message.count <= CipherState.maxMessageLength else { throw .messageTooLarge(message.count) }
        return message
    }

    /// Reads the peer's next handshake message and returns its payload.
    public mutating func readMessage(_ message: some DataProtocol) throws(NoiseError) -> Data {
        guard !isComplete, !isMyTurnToWrite else { throw .outOfTurn }
        let bytes = Data(message)
        var offset = bytes.startIndex
        func take(_ count: Int) throws(NoiseError) -> Data {
            guard bytes.endIndex - offset >= count else { throw .malformedMessage("handshake message \(step + 1) is too short") }
            defer { offset += count }
            return bytes[offset..<(offset + count)]
        }
        let staticLength = Self.dhLength + (symmetric.cipher.hasKey ? CipherState.tagLength : 0)
        switch step {
        case 0:  // -> e  (responder reads)
            let e = try take(Self.dhLength)
            remoteEphemeral = try Self.publicKey(e)
            symmetric.mixHash(e)
        case 1:  // <- e, ee, s, es  (initiator reads)
            let e = try take(Self.dhLength)
            remoteEphemeral = try Self.publicKey(e)
            symmetric.mixHash(e)
            symmetric.mixKey(try Self.dh(localEphemeral, try required(remoteEphemeral)))
            let encryptedStatic = try take(Self.dhLength + CipherState.tagLength)
            remoteStatic = try Self.publicKey(try symmetric.decryptAndHash(encryptedStatic))
            symmetric.mixKey(try Self.dh(localEphemeral, try required(remoteStatic)))
        default:  // -> s, se  (responder reads)
            let encryptedStatic = try take(staticLength)
            remoteStatic = try Self.publicKey(try symmetric.decryptAndHash(encryptedStatic))
            symmetric.mixKey(try Self.dh(localEphemeral, try required(remoteStatic)))
        }
        let payload = try symmetric.decryptAndHash(bytes[offset...])
        step += 1
        return payload
    }

    /// After completion: the ciphers to send and to receive with.
    public func transportCiphers() throws(NoiseError) -> (send: CipherState, receive: CipherState) {
        guard isComplete else { throw .outOfTurn }
        let (initiatorToResponder, responderToInitiator) = symmetric.split()
        return role == .initiator
            ? (initiatorToResponder, responderToInitiator)
            : (responderToInitiator, initiatorToResponder)
    }

    private func required(_ key: Curve25519.KeyAgreement.PublicKey?) throws(NoiseError) -> Curve25519.KeyAgreement.PublicKey {
        guard let key else { throw .outOfTurn }
        return key
    }

    private static func publicKey(_ bytes: Data) throws(NoiseError) -> Curve25519.KeyAgreement.PublicKey {
        do {
            return try Curve25519.KeyAgreement.PublicKey(rawRepresentation: bytes)
        } catch {
            throw .invalidKey
        }
    }

    private static func dh(
        _ privateKey: Curve25519.KeyAgreement.PrivateKey, _ publicKey: Curve25519.KeyAgreement.PublicKey
    ) throws(NoiseError) -> [UInt8] {
        do {
            let secret = try privateKey.sharedSecretFromKeyAgreement(with: publicKey)
            return secret.withUnsafeBytes { Array($0) }
        } catch {
            throw .invalidKey
        }
    }
}
