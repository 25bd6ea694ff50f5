// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Plexus",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "plexus", targets: ["plexus"]),
        .executable(name: "plexus-bench", targets: ["plexus-bench"]),
        .library(name: "PlexusCore", targets: ["PlexusCore"]),
        .library(name: "PlexusProtocol", targets: ["PlexusProtocol"]),
        .library(name: "PlexusNet", targets: ["PlexusNet"]),
        .library(name: "PlexusStore", targets: ["PlexusStore"]),
        .library(name: "PlexusNode", targets: ["PlexusNode"]),
        .library(name: "PlexusAPI", targets: ["PlexusAPI"]),
        .library(name: "PlexusClient", targets: ["PlexusClient"]),
        .library(name: "PlexusHooks", targets: ["PlexusHooks"]),
        .library(name: "PlexusMCP", targets: ["PlexusMCP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: ["YAML"]),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.0"),
    ],
    targets: [
        // libsodium from the system (Debian's libsodium-dev), for Ed25519 verification.
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        // Ids, keys, entries, wire schema, limits, errors. No IO beyond key files.
        .target(
            name: "PlexusCore",
            dependencies: [
                "CSodium",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // Sans-IO protocol state machines: Noise handshake, Plexus handshake.
        .target(
            name: "PlexusProtocol",
            dependencies: [
                "PlexusCore",
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // The mesh transport on SwiftNIO: Noise pipeline, frames, connection management.
        .target(
            name: "PlexusNet",
            dependencies: [
                "PlexusCore",
                "PlexusProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // Test support: runs many nodes' gossip state machines on a virtual clock.
        .target(name: "PlexusSimulator", dependencies: ["PlexusProtocol"]),
        // Network namespaces (a LAN of them) for the discovery tests and benchmark.
        .target(name: "PlexusNamespaces"),
        // Durable entry storage: SQLite (WAL) through GRDB, FTS5 search.
        .target(
            name: "PlexusStore",
            dependencies: [
                "PlexusCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // A running node: data directory, configuration, identity, publish and query.
        .target(
            name: "PlexusNode",
            dependencies: [
                "PlexusCore",
                "PlexusProtocol",
                "PlexusNet",
                "PlexusStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // The local HTTP API (Hummingbird) in front of a node.
        .target(
            name: "PlexusAPI",
            dependencies: [
                "PlexusCore",
                "PlexusNode",
                "PlexusMCP",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            resources: [.copy("openapi.json"), .copy("Panel/Assets")]
        ),
        // A Swift client for the local HTTP API, used by the CLI, tests and benchmarks.
        .target(
            name: "PlexusClient",
            dependencies: [
                "PlexusCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Hook commands run for arriving entries.
        .target(
            name: "PlexusHooks",
            dependencies: [
                "PlexusCore",
                "PlexusStore",
                "PlexusNode",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The A2A gateway: Agent2Agent 1.0 (card, JSON-RPC, SSE) onto Plexus tasks.
        .target(
            name: "PlexusA2A",
            dependencies: [
                "PlexusCore",
                "PlexusNode",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The MCP server (tools over a NodeService), for Streamable HTTP and stdio.
        .target(
            name: "PlexusMCP",
            dependencies: [
                "PlexusCore",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "plexus",
            dependencies: [
                "PlexusCore",
                "PlexusNode",
                "PlexusAPI",
                "PlexusClient",
                "PlexusHooks",
                "PlexusMCP",
                "PlexusA2A",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "plexus-bench",
            dependencies: [
                "PlexusCore",
                "PlexusProtocol",
                "PlexusSimulator",
                "PlexusNet",
                "PlexusStore",
                "PlexusNode",
                "PlexusClient",
                "PlexusNamespaces",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "PlexusCoreTests",
            dependencies: [
                "CSodium",
                "PlexusCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "PlexusProtocolTests",
            dependencies: [
                "PlexusCore",
                "PlexusProtocol",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            resources: [.copy("Vectors")]
        ),
        .testTarget(
            name: "PlexusNetTests",
            dependencies: [
                "PlexusCore",
                "PlexusProtocol",
                "PlexusNet",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "PlexusSimulatorTests", dependencies: ["PlexusProtocol", "PlexusSimulator"]),
        .testTarget(name: "PlexusStoreTests", dependencies: ["PlexusCore", "PlexusStore"]),
        .testTarget(name: "PlexusNodeTests", dependencies: ["PlexusCore", "PlexusStore", "PlexusNode"]),
        .testTarget(
            name: "PlexusAPITests",
            dependencies: [
                "PlexusCore", "PlexusProtocol", "PlexusAPI", "PlexusMCP", "PlexusNode", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Real `plexus serve` processes driven through the CLI and HTTP.
        .testTarget(
            name: "PlexusIntegrationTests",
            dependencies: [
                "PlexusCore",
                "PlexusNet",
                "PlexusNode",
                "PlexusClient",
                "PlexusNamespaces",
                "plexus",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
