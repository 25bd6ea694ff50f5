import Foundation
import Hummingbird
import PlexusCore

/// The JSON envelope of every API response: `{"ok": true, "data": …}` or
/// `{"ok": false, "error": {"code": …, "message": …}}` (DESIGN §10).
struct Envelope<Payload: Encodable>: Encodable {
    struct ErrorBody: Encodable {
        let code: String
        let message: String
    }

    let ok: Bool
    let data: Payload?
    let error: ErrorBody?
}

enum EnvelopeResponse {
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    /// A success envelope around `data`.
    static func success(_ data: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        make(Envelope(ok: true, data: data, error: nil), status: status)
    }

    /// A failure envelope for `error`, with the HTTP status its code maps to.
    static func failure(_ error: PlexusError, extraHeaders: HTTPFields = [:]) -> Response {
        var response = make(
            Envelope<Empty>(ok: false, data: nil, error: .init(code: error.code.rawValue, message: error.message)),
            status: error.code.httpStatus)
        response.headers.append(contentsOf: extraHeaders)
        return response
    }

    private static func make(_ envelope: some Encodable, status: HTTPResponse.Status) -> Response {
        // The envelope holds only strings, numbers and already-validated JSON values.
        let data = (try? encoder.encode(envelope)) ?? Data(#"{"ok":false,"error":{"code":"internal","message":"encoding failed"}}"#.utf8)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    struct Empty: Encodable {}
}

extension PlexusError.Code {
    /// The HTTP status each error code is reported with.
    var httpStatus: HTTPResponse.Status {
        switch self {
        case .invalidArgument, .invalidJSON: .badRequest
        case .invalidContent, .malformedEntry, .badSignature, .malformedEnvelope: .unprocessableContent
        case .tooLarge: .contentTooLarge
        case .unauthorized, .wrongPassphrase: .unauthorized
        case .forbidden, .notMember: .forbidden
        case .notFound, .noRoute: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .unsupportedMediaType: .unsupportedMediaType
        case .rangeNotSatisfiable: .rangeNotSatisfiable
        case .forkDetected, .authorForked, .identityExists: .conflict
        case .tombstoned: .gone
        case .nodeNotRunning, .overloaded, .resourceExhausted: .serviceUnavailable
        case .peerUnreachable, .handshakeFailed, .dependencyError: .badGateway
        case .timeout: .gatewayTimeout
        case .rejected, .contractViolation: .conflict
        case .securityError: .forbidden
        case .keyFileCorrupt, .noIdentity, .invalidConfig, .internal: .internalServerError
        }
    }
}
