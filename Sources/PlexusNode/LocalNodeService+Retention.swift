import PlexusCore

/// Retention (`RetentionService`) of `LocalNodeService`.
extension LocalNodeService {
    public func retentionPolicies() async throws(PlexusError) -> RetentionPolicyList {
        try await node.retention.policies()
    }

    public func addRetentionPolicy(_ request: RetentionPolicyRequest) async throws(PlexusError) -> RetentionPolicyView {
        try await node.retention.add(request)
    }

    public func removeRetentionPolicy(_ id: String) async throws(PlexusError) -> RetentionPolicyView {
        try await node.retention.remove(id)
    }

    public func runRetention() async throws(PlexusError) -> RetentionRunView {
        try await node.retention.run()
    }
}
