import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import PlexusCore

/// Renders the panel's pages from the Mustache templates in `Assets/` (loaded once, on first
/// use) and serves its static files. Every value goes through Mustache's escaping (`{{name}}`;
/// the templates never use the unescaped forms), and every page carries a content security
/// policy that allows only this origin's own script and style, so mesh content that slipped
/// through would still not run.
struct PanelRenderer: Sendable {
    /// The parsed templates and the static files.
    private struct Content: Sendable {
        let library: MustacheLibrary
        /// Static files by name: bytes and media type.
        let assets: [String: (bytes: ByteBuffer, type: String)]
    }

    /// Read and parsed on the panel's first request, not on the node's start path (parsing
    /// the templates was a fifth of building the API). A template that does not parse is a
    /// build defect: every page then says so.
    private static let content: Result<Content, PlexusError> = Result { () throws(PlexusError) in try load() }

    /// Headers on every panel response.
    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy:
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        .xContentTypeOptions: "nosniff",
        .referrerPolicy: "same-origin",
        .cacheControl: "no-store",
        .xFrameOptions: "DENY",
    ]

    private static func load() throws(PlexusError) -> Content {
        var library = MustacheLibrary()
        var assets: [String: (bytes: ByteBuffer, type: String)] = [:]
        guard let directory = Bundle.module.url(forResource: "Assets", withExtension: nil) else {
            throw PlexusError(.internal, "the panel's assets are missing from this build")
        }
        let files = (try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)) ?? []
        for file in files {
            guard let data = try? Data(contentsOf: file) else { continue }
            let name = file.lastPathComponent
            switch file.pathExtension {
            case "mustache":
                do {
                    try library.register(String(decoding: data, as: UTF8.self), named: file.deletingPathExtension().lastPathComponent)
                } catch {
                    throw PlexusError(.internal, "panel template \(name) does not parse: \(error)")
                }
            case "css": assets[name] = (ByteBuffer(bytes: data), "text/css; charset=utf-8")
            case "js": assets[name] = (ByteBuffer(bytes: data), "text/javascript; charset=utf-8")
            case "svg": assets[name] = (ByteBuffer(bytes: data), "image/svg+xml")
            default: continue
            }
        }
        return Content(library: library, assets: assets)
    }

    /// Loads the templates now: throws what a page would show if one does not parse.
    static func checkTemplates() throws(PlexusError) {
        _ = try content.get()
    }

    /// A page: `template` rendered with `model`.
    func page(_ template: String, _ model: Any, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        let html = html(template, model)
        var headers = Self.securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// The HTML of `template` rendered with `model`.
    func html(_ template: String, _ model: Any) -> String {
        switch Self.content {
        case .success(let content):
            return content.library.render(model, withTemplate: template)
                ?? "<!doctype html><title>Plexus</title><p>The page template \(template) is missing.</p>"
        case .failure(let error):
            return "<!doctype html><title>Plexus</title><p>The panel cannot be shown: \(Self.escaped(error.message))</p>"
        }
    }

    /// Whether a template of this name was loaded.
    func has(_ template: String) -> Bool {
        (try? Self.content.get())?.library.getTemplate(named: template) != nil
    }

    /// A static file, nil when there is none by that name.
    func asset(_ name: String) -> Response? {
        guard let asset = (try? Self.content.get())?.assets[name] else { return nil }
        var headers = Self.securityHeaders
        headers[.contentType] = asset.type
        headers[.cacheControl] = "max-age=300"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: asset.bytes))
    }

    private static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}

extension HTTPField.Name {
    // Constant, valid header names: the initialiser cannot fail here.
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
}
