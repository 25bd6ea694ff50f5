import Foundation
import Hummingbird
import Metrics
import PlexusCore

/// A submitted panel form (`application/x-www-form-urlencoded`), read only after its CSRF
/// token matched the session's: a page of another site cannot make the browser change
/// anything here, even if it got past the origin and host checks.
struct PanelForm {
    /// Forms are small; a bigger body is refused before it is read.
    static let maxBytes = 256 * 1024

    private let fields: [String: String]

    /// Reads and checks the form of `request` for `session`.
    static func read(_ request: Request, session: PanelSessions.Session?) async throws -> PanelForm {
        guard let session else { throw PlexusError(.unauthorized, "not signed in") }
        guard request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true else {
            throw PlexusError(.unsupportedMediaType, "panel forms are application/x-www-form-urlencoded")
        }
        let buffer = try await request.body.collect(upTo: maxBytes)
        let fields = Self.decode(String(buffer: buffer))
        guard let csrf = fields["csrf"], PanelSessions.csrfMatches(csrf, session) else {
            PanelMetrics.refused(.forbidden)
            throw PlexusError(.forbidden, "the form's CSRF token is missing or wrong; reload the page and try again")
        }
        return PanelForm(fields: fields)
    }

    /// A field's text, nil when absent or blank.
    func string(_ name: String) -> String? {
        guard let value = fields[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }

    /// `a=b&c=d` with `+` for spaces and percent escapes; the first of repeated names wins.
    static func decode(_ body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func text(_ raw: Substring) -> String {
                let spaced = raw.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            let name = text(parts[0])
            if fields[name] == nil { fields[name] = parts.count > 1 ? text(parts[1]) : "" }
        }
        return fields
    }
}

/// The panel's counters.
enum PanelMetrics {
    /// `plexus_panel_refused_total{code}`: panel requests refused (not signed in, bad CSRF
    /// token, foreign host, bad input).
    static func refused(_ code: PlexusError.Code) {
        Metrics.Counter(label: "plexus_panel_refused_total", dimensions: [("code", code.rawValue)]).increment()
    }
}
