import Foundation

/// The OpenAPI 3.1 description of this API, kept in the repo as `openapi.json` beside
/// this file and served at `GET /openapi.json`. A test checks it against the router's routes.
public enum OpenAPIDocument {
    /// The document's bytes.
    public static let data: Data = {
        // The resource is part of this target; its absence is a packaging bug.
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"),
              let data = try? Data(contentsOf: url)
        else { return Data(#"{"openapi":"3.1.0","info":{"title":"Plexus (document missing from build)","version":"0"},"paths":{}}"#.utf8) }
        return data
    }()
}
