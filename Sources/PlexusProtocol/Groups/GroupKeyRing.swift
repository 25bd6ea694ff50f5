import Crypto
import Foundation
import PlexusCore

/// The epoch keys of one group that one agent can open (PROTOCOL.md §13.3): sealed to it
/// in an epoch or an add, or wrapped under a key it holds. Pure: the caller hands in the
/// control entries and the agent's exchange key.
public struct GroupKeyRing: Sendable {
    public private(set) var keys: [EntryID: SymmetricKey] = [:]

    public init(keys: [EntryID: SymmetricKey] = [:]) {
        self.keys = keys
    }

    public subscript(epoch: EntryID) -> SymmetricKey? { keys[epoch] }

    /// Adds a key opened elsewhere (e.g. read back from storage).
    public mutating func insert(_ key: SymmetricKey, epoch: EntryID) {
        keys[epoch] = key
    }

    /// Opens every key of `controls` sealed to `me`, then unwraps earlier keys under the
    /// keys held until nothing new opens. Returns the epochs newly opened.
    @discardableResult
    public mutating func absorb(_ controls: [ControlEntry], me: AgentID, exchangeKey: ExchangeKey) -> [EntryID] {
        var opened: [EntryID] = []
        let prefix = RecipientSet.prefix(of: me)
        func tryOpen(_ sealed: Plexus_SealedKey, epoch: EntryID) {
            guard keys[epoch] == nil, sealed.recipient.count == 8,
                  sealed.recipient.reduce(UInt64(0), { $0 << 8 | UInt64($1) }) == prefix,
                  let key = try? SealedEpochKey(recipient: me, encapsulatedKey: sealed.encapsulatedKey, ciphertext: sealed.ciphertext)
                    .open(with: exchangeKey)
            else { return }
            keys[epoch] = key
            opened.append(epoch)
        }
        for control in controls {
            if let epochKeys = control.epochKeys, let epoch = control.sealedEpoch {
                for sealed in epochKeys.sealed { tryOpen(sealed, epoch: epoch) }
            }
            if case .add(let member, _, _, _) = control.control.action, member == me {
                for share in control.shares {
                    if let epoch = EntryID(bytes: share.epoch) { tryOpen(share.sealed, epoch: epoch) }
                }
            }
        }
        // Walk back through wrapped predecessors until nothing more opens.
        var changed = true
        while changed {
            changed = false
            for control in controls {
                guard control.control.startsEpoch, let epochKeys = control.epochKeys, let newKey = keys[control.entry.id] else { continue }
                for wrapped in epochKeys.previous {
                    guard let epoch = EntryID(bytes: wrapped.epoch), keys[epoch] == nil,
                          let key = try? EpochKeyWrap.unwrap(wrapped.ciphertext, epoch: epoch, under: newKey)
                    else { continue }
                    keys[epoch] = key
                    opened.append(epoch)
                    changed = true
                }
            }
        }
        return opened
    }

    /// A new epoch's keys: `key` sealed to each of `recipients`, and each of `previous`
    /// wrapped under it.
    public static func epochKeys(
        _ key: SymmetricKey, to recipients: [ExchangeKeyBinding], wrapping previous: [(epoch: EntryID, key: SymmetricKey)]
    ) throws(PlexusError) -> Plexus_EpochKeys {
        try epochParts(key, to: recipients, wrapping: previous, sealsPerPart: .max)[0]
    }

    /// Seals one entry of at most `maxBodyBytes` carries: with its framing a seal takes 96
    /// bytes, and 4 KiB stay for the rest of the entry (64 refs, the header) — 640 seals in
    /// a standard 64 KiB entry. Never more than a standard entry holds, so every node with
    /// the standard limit accepts the parts.
    public static func sealsPerEntry(maxBodyBytes: Int = Limits.standard.maxBodyBytes) -> Int {
        max(1, (min(maxBodyBytes, Limits.standard.maxBodyBytes) - 4096) / 96)
    }

    /// A new epoch's keys split into parts of at most `sealsPerPart` seals (PROTOCOL.md
    /// §13.3): the first starts the epoch, carries the wrapped predecessors and says how
    /// many parts there are; each further part is a continuation whose `continues` the
    /// caller sets to the first part's entry id once it is signed.
    public static func epochParts(
        _ key: SymmetricKey, to recipients: [ExchangeKeyBinding], wrapping previous: [(epoch: EntryID, key: SymmetricKey)],
        sealsPerPart: Int = sealsPerEntry()
    ) throws(PlexusError) -> [Plexus_EpochKeys] {
        let size = max(1, sealsPerPart)
        var parts: [Plexus_EpochKeys] = []
        var start = 0
        repeat {
            // The first part also carries the wrapped keys (about a seal's size each).
            let room = parts.isEmpty ? max(1, size - previous.count) : size
            var part = Plexus_EpochKeys()
            for recipient in recipients[start..<min(start + room, recipients.count)] {
                part.sealed.append(try sealed(key, to: recipient))
            }
            parts.append(part)
            start += room
        } while start < recipients.count
        guard parts.count <= ControlEntry.maxEpochParts else {
            throw PlexusError(.rejected, "an epoch of \(recipients.count) recipients would span \(parts.count) entries (at most \(ControlEntry.maxEpochParts))")
        }
        if parts.count > 1 { parts[0].parts = UInt32(parts.count) }
        for (epoch, old) in previous {
            var wrapped = Plexus_WrappedKey()
            wrapped.epoch = epoch.bytes.asData
            wrapped.ciphertext = try EpochKeyWrap.wrap(old, epoch: epoch, under: key)
            parts[0].previous.append(wrapped)
        }
        return parts
    }

    /// `key` sealed to one agent, as the wire carries it.
    public static func sealed(_ key: SymmetricKey, to recipient: ExchangeKeyBinding) throws(PlexusError) -> Plexus_SealedKey {
        let seal = try SealedEpochKey.seal(key, to: recipient)
        var sealed = Plexus_SealedKey()
        sealed.recipient = Data(recipient.agent.bytes.prefix(8))
        sealed.encapsulatedKey = seal.encapsulatedKey
        sealed.ciphertext = seal.ciphertext
        return sealed
    }

    /// 32 fresh random bytes.
    public static func freshKey() -> SymmetricKey {
        SymmetricKey(size: .bits256)
    }
}
