import Foundation
import Hummingbird
import Logging
import PlexusCore
import PlexusNode
import Testing
@testable import PlexusAPI

/// The OpenAPI document in the repo and the router's route table must list the same
/// operations; adding a route to one and not the other fails here.
@Suite struct OpenAPIDriftTests {
    /// The route table of a real (not running) node's API.
    func routeTable() throws -> APIRouteTable {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("plexus-routes-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: url) }
        let config = NodeConfig(dataDirectory: url.path)
        try DataDirectory(url.path).create()
        let node = try Node.open(config: config, logger: Logger(label: "test")) { () throws(PlexusError) in nil }
        return APIRouteTable(APIServer.routeCollections(node: node, registry: .init(), logger: Logger(label: "test")))
    }

    @Test func documentAndRouteTableAgree() throws {
        let document = try #require(try JSONSerialization.jsonObject(with: OpenAPIDocument.data) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var documented: Set<String> = []
        for (path, operations) in paths {
            for method in operations.keys { documented.insert("\(method.uppercased()) \(path)") }
        }
        let served = Set(try routeTable().routes.map { "\($0.method) \($0.path)" })
        #expect(documented == served)
        #expect(!served.isEmpty)
    }

    @Test func everyErrorCodeIsInTheDocument() throws {
        let document = try #require(try JSONSerialization.jsonObject(with: OpenAPIDocument.data) as? [String: Any])
        let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
        let codes = try #require((schemas["ErrorCode"] as? [String: Any])?["enum"] as? [String])
        #expect(Set(codes) == Set(PlexusError.Code.allCases.map(\.rawValue)))
    }

    @Test func onlyHealthAndTheDocumentAreOpenWithoutAToken() throws {
        let routes = try routeTable().routes
        #expect(routes.count > 30)
        #expect(Set(routes.filter { !$0.authenticated }.map(\.path)) == ["/v1/health", "/openapi.json"])
    }

    @Test func theMostLiteralPatternNamesARequest() throws {
        let table = try routeTable()
        #expect(table.pattern(matching: "/v1/tasks/next") == "/v1/tasks/next")
        #expect(table.pattern(matching: "/v1/tasks/0123") == "/v1/tasks/{id}")
        #expect(table.pattern(matching: "/v1/nothing") == nil)
        #expect(Set(table.methods(matching: "/v1/peers")) == [.get, .post])
    }

    @Test(arguments: [
        ("http://127.0.0.1:3000", true), ("http://localhost", true), ("http://[::1]:80", true),
        ("https://evil.example", false), ("http://127.0.0.1.evil.example", false), ("null", false),
        ("http://localhost.evil.example", false),
    ])
    func originCheckAcceptsOnlyLoopback(origin: String, allowed: Bool) {
        #expect(AccessMiddleware<Hummingbird.BasicRequestContext>.isLoopbackOrigin(origin) == allowed)
    }
}
