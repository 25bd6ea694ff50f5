/// Why a Noise operation failed. Every failure ends the handshake or session it happened in.
public enum NoiseError: Error, Sendable, Equatable {
    /// A message failed authentication (wrong key, tampered bytes, wrong prologue).
    case decryptionFailed
    /// A handshake message has the wrong length for its pattern step.
    case malformedMessage(String)
    /// A message was written or read out of turn.
    case outOfTurn
    /// The 2^64 - 1 nonce limit was reached; the session must end.
    case nonceExhausted
    /// A message would exceed the 65,535-byte Noise limit.
    case messageTooLarge(Int)
    /// A Diffie-Hellman input was not a valid X25519 key.
    case invalidKey
}
