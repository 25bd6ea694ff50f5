import Crypto
import Foundation
import PlexusCore
import Synchronization

/// Who may use the web panel: one-time login codes (issued to a holder of the API token,
/// by `plexus ui`) exchanged for sessions held in memory. A code works once and only until
/// it expires; a session carries the CSRF token its forms must echo. The API token itself
/// never reaches the browser. Both tables are bounded: the oldest entry makes room.
final class PanelSessions: Sendable {
    /// A signed-in browser.
    struct Session: Sendable {
        /// The cookie value.
        let id: String
        /// The token every state-changing form carries.
        let csrf: String
        let expiresAt: ContinuousClock.Instant
    }

    /// How long a login code lives unless the request says otherwise, and the bounds.
    static let defaultCodeLifetime = Duration.seconds(60)
    static let codeLifetimeRange = 1_000...600_000
    /// How long a session lasts from sign-in.
    static let sessionLifetime = Duration.seconds(12 * 3600)
    static let maxCodes = 32
    static let maxSessions = 64
    /// The session cookie's name.
    static let cookieName = "plexus_panel"

    private struct Tables {
        /// Digest of a code → when it expires.
        var codes: [Data: ContinuousClock.Instant] = [:]
        /// Digest of a session id → the session.
        var sessions: [Data: Session] = [:]
    }

    private let tables = Mutex(Tables())

    init() {}

    /// A new login code valid for `lifetime`.
    func issueCode(lifetime: Duration) -> String {
        let code = Self.randomToken()
        let now = ContinuousClock.now
        tables.withLock { tables in
            tables.codes = tables.codes.filter { $0.value > now }
            if tables.codes.count >= Self.maxCodes, let oldest = tables.codes.min(by: { $0.value < $1.value })?.key {
                tables.codes[oldest] = nil
            }
            tables.codes[Self.digest(code)] = now + lifetime
        }
        return code
    }

    /// The session a valid, unused code opens; nil when the code is unknown, used or expired.
    /// The code is spent either way.
    func redeem(_ code: String) -> Session? {
        let now = ContinuousClock.now
        return tables.withLock { tables -> Session? in
            guard let expiry = tables.codes.removeValue(forKey: Self.digest(code)), expiry > now else { return nil }
            tables.sessions = tables.sessions.filter { $0.value.expiresAt > now }
            if tables.sessions.count >= Self.maxSessions,
                let oldest = tables.sessions.min(by: { $0.value.expiresAt < $1.value.expiresAt })?.key
            {
                tables.sessions[oldest] = nil
            }
            let session = Session(id: Self.randomToken(), csrf: Self.randomToken(), expiresAt: now + Self.sessionLifetime)
            tables.sessions[Self.digest(session.id)] = session
            return session
        }
    }

    /// The live session with this cookie value.
    func session(_ id: String) -> Session? {
        let now = ContinuousClock.now
        return tables.withLock { tables in
            guard let session = tables.sessions[Self.digest(id)], session.expiresAt > now else { return nil }
            return session
        }
    }

    /// Signs a session out.
    func end(_ id: String) {
        _ = tables.withLock { $0.sessions.removeValue(forKey: Self.digest(id)) }
    }

    /// Whether `given` is the session's CSRF token, in time independent of where they differ.
    static func csrfMatches(_ given: String, _ session: Session) -> Bool {
        digest(given) == digest(session.csrf)
    }

    /// 32 random bytes, base64url without padding.
    private static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    private static func digest(_ text: String) -> Data {
        Data(SHA256.hash(data: Data(text.utf8)))
    }
}
