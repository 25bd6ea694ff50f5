import Foundation
import PlexusCore

/// Retention over HTTP (`RetentionService`).
extension NodeClient {
    public func retentionPolicies() async throws(PlexusError) -> RetentionPolicyList {
        try await send(.GET, "/v1/retention/policies")
    }

    public func addRetentionPolicy(_ request: RetentionPolicyRequest) async throws(PlexusError) -> RetentionPolicyView {
        try await send(.POST, "/v1/retention/policies", body: request)
    }

    public func removeRetentionPolicy(_ id: String) async throws(PlexusError) -> RetentionPolicyView {
        try await send(.DELETE, "/v1/retention/policies/\(Self.pathSegment(id))")
    }

    public func runRetention() async throws(PlexusError) -> RetentionRunView {
        try await send(.POST, "/v1/retention/run")
    }
}
