import Foundation
import PlexusCore

/// Task messages that travel through a relay (PROTOCOL.md §10.1). On a direct link the
/// Noise channel says who sent a message; through a relay it does not, so the writer signs
/// the message and names itself (`origin`) and the recipient (`target`), and the recipient
/// accepts it only if the signature verifies. The signed bytes are explicit, not a
/// re-encoding of the protobuf, so any implementation can produce them.
public enum RelayedTask {
    /// Marks `task` as written by `key` for `target`, and signs it.
    public static func seal(_ task: Plexus_Task, by key: AgentKey, for target: AgentID) -> Plexus_Task {
        var sealed = task
        sealed.origin = key.id.bytes.asData
        sealed.target = target.bytes.asData
        sealed.signature = key.sign(domain: .task, signedBytes(of: sealed))
        return sealed
    }

    /// The writer of a relayed message whose signature verifies, or nil.
    public static func verifiedOrigin(of task: Plexus_Task) -> AgentID? {
        guard let origin = AgentID(bytes: task.origin),
              origin.verify(signature: task.signature, domain: .task, signedBytes(of: task))
        else { return nil }
        return origin
    }

    /// `id ‖ origin ‖ target ‖ kind ‖ fields`, each variable-length field preceded by its
    /// length as 4 bytes big-endian; kind 1 submit (capability, payload, deadline as 8 bytes
    /// big-endian, nonce), 2 update (state, message, result, error code), 3 cancel.
    public static func signedBytes(of task: Plexus_Task) -> Data {
        var output = Data()
        func field(_ bytes: Data) {
            withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { output.append(contentsOf: $0) }
            output.append(bytes)
        }
        field(task.id)
        field(task.origin)
        field(task.target)
        switch task.kind {
        case .submit(let submit)?:
            output.append(1)
            field(Data(submit.capability.utf8))
            field(submit.payload)
            withUnsafeBytes(of: submit.deadlineMs.bigEndian) { output.append(contentsOf: $0) }
            field(submit.nonce)
        case .update(let update)?:
            output.append(2)
            field(Data(update.state.utf8))
            field(Data(update.message.utf8))
            field(update.result)
            field(Data(update.errorCode.utf8))
        case .cancel?:
            output.append(3)
        case nil:
            output.append(0)
        }
        return output
    }
}
