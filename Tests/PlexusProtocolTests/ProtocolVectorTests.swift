import Crypto
import Foundation
import PlexusCore
import Testing
@testable import PlexusProtocol

/// The published test vectors (`vectors/`, PROTOCOL.md §12): entries, the handshake
/// payload, reconciliation fingerprints and their messages, a soft record. This
/// implementation reproduces each byte for byte, and an independent derivation in Python
/// (`Tests/interop/vectors.py`: protobuf by hand, `cryptography`, hashlib) agrees.
@Suite struct ProtocolVectorTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("vectors")

    static func load<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func bytes(_ hex: String) -> Data { Data(Hex.decode(hex) ?? []) }

    struct EntryVector: Decodable {
        let seed, type, topic, content, author, prev, body, signature, id, encoded: String
        let seq: UInt64
        let time_ms: Int64
        let tags, refs: [String]
        let expires_ms: UInt64?
        let unknown_fields: String
    }

    @Test func entriesVerifyAndSigningTheSameFieldsGivesTheSameBytes() throws {
        let vectors = try Self.load("entries.json", as: [EntryVector].self)
        #expect(vectors.count == 3)
        for vector in vectors {
            let entry = try SignedEntry(encoded: Self.bytes(vector.encoded))
            #expect(entry.id.hex == vector.id && Hex.encode(entry.author.bytes) == vector.author)
            #expect(Hex.encode(entry.body) == vector.body && Hex.encode(entry.signature) == vector.signature)
            #expect(entry.seq == vector.seq && entry.type == vector.type && entry.topic == vector.topic && entry.tags == vector.tags)
            #expect(entry.refs.map(\.hex) == vector.refs && (entry.prev?.hex ?? "") == vector.prev && entry.expiresMs == vector.expires_ms)
            #expect(entry.encoded() == Self.bytes(vector.encoded))
            guard vector.unknown_fields.isEmpty else {
                // A field this version does not know is kept: re-encoding changes nothing.
                #expect(!entry.fields.unknownFields.data.isEmpty)
                continue
            }
            let key = try AgentKey(seed: Self.bytes(vector.seed))
            let draft = EntryDraft(
                type: vector.type, topic: vector.topic, tags: vector.tags, refs: try vector.refs.map { text throws(PlexusError) in try EntryID.parse(text) },
                content: try JSONValue(parsing: Data(vector.content.utf8)), expiresMs: vector.expires_ms)
            let prev = vector.prev.isEmpty ? nil : try EntryID.parse(vector.prev)
            let signed = try SignedEntry(signing: try draft.body(seq: vector.seq, prev: prev, timeMs: vector.time_ms), with: key)
            #expect(Hex.encode(signed.body) == vector.body)
            #expect(Hex.encode(signed.signature) == vector.signature)
        }
    }

    struct HandshakeVector: Decodable {
        let network_key, identity_seed, noise_static_private, prologue, identity_key, noise_static_public, identity_sig, payload: String
        let features: [String]
    }

    @Test func theHandshakePayloadAndPrologueAreReproduced() throws {
        for vector in try Self.load("handshake.json", as: [HandshakeVector].self) {
            #expect(Hex.encode(PlexusHandshake.prologue(networkKey: vector.network_key)) == vector.prologue)
            let identity = try AgentKey(seed: Self.bytes(vector.identity_seed))
            let noise = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: Self.bytes(vector.noise_static_private))
            #expect(Hex.encode(noise.publicKey.rawRepresentation) == vector.noise_static_public)
            let payload = PlexusHandshake.makePayload(identity: identity, noiseStatic: noise, features: vector.features)
            #expect(Hex.encode(payload) == vector.payload)
            let decoded = try Plexus_HandshakePayload(serializedBytes: Self.bytes(vector.payload))
            #expect(Hex.encode(decoded.identityKey) == vector.identity_key && Hex.encode(decoded.identitySig) == vector.identity_sig)
        }
    }

    struct FingerprintVector: Decodable {
        struct Head: Decodable {
            let author: String
            let seq, count, from: UInt64
        }
        let heads: [Head]
        let fingerprint, opening_message, explicit_message: String
        let count: Int
    }

    @Test func fingerprintsAndReconciliationMessagesAreReproduced() throws {
        let vectors = try Self.load("fingerprints.json", as: [FingerprintVector].self)
        #expect(vectors.first?.fingerprint == String(repeating: "0", count: 32))
        for vector in vectors {
            let heads = try vector.heads.map { head in
                HeadsReconciliation.Head(
                    author: try #require(AgentID(bytes: Self.bytes(head.author))), seq: head.seq, count: head.count, from: head.from)
            }
            let fingerprint = HeadsReconciliation.Fingerprint.of(heads)
            #expect(Hex.encode(fingerprint.bytes) == vector.fingerprint)
            // The opening message is what `start` produces for these heads.
            let opening = HeadsReconciliation.wire(HeadsReconciliation.start(local: heads))
            #expect(Hex.encode(try opening.serializedBytes() as Data) == vector.opening_message)
            let explicit = HeadsReconciliation.wire([.heads(lower: nil, upper: nil, heads: heads, reply: true)])
            #expect(Hex.encode(try explicit.serializedBytes() as Data) == vector.explicit_message)
            // And both read back to what they carry.
            let read = try #require(HeadsReconciliation.ranges(from: try Plexus_SyncRanges(serializedBytes: Self.bytes(vector.opening_message))))
            #expect(read == [.fingerprint(lower: nil, upper: nil, fingerprint: fingerprint, count: vector.count)])
        }
    }

    struct GroupVector: Decodable {
        let author_seed, recipient_seed, group, epoch, epoch_key, salt, type, content, previous_epoch, previous_key: String
        let sealed_encapsulated_key, sealed_ciphertext, author, exchange_public, exchange_signature, recipient: String
        let inner, ciphertext, envelope, wrapped_previous, rekey_start_control, rekey_continuation_control: String
        let seq: UInt64
        let tags, refs: [String]
    }

    @Test func groupKeysEnvelopeWrapAndSealMatchTheVector() throws {
        let vector = try Self.load("groups.json", as: GroupVector.self)
        let author = try AgentKey(seed: Self.bytes(vector.author_seed))
        #expect(author.id.hex == vector.author)
        let binding = ExchangeKey.binding(of: author)
        #expect(Hex.encode(binding.publicKey) == vector.exchange_public && Hex.encode(binding.signature) == vector.exchange_signature)
        let group = try EntryID.parse(vector.group), epoch = try EntryID.parse(vector.epoch)
        let epochKey = SymmetricKey(data: Self.bytes(vector.epoch_key))
        let inner = try GroupInner(
            type: vector.type, tags: vector.tags, refs: vector.refs.map { text throws(PlexusError) in try EntryID.parse(text) },
            content: try JSONValue(parsing: Data(vector.content.utf8))
        ).serialized()
        #expect(Hex.encode(inner) == vector.inner)
        let envelope = try SealedEntry.seal(
            inner, group: group, epoch: epoch, epochKey: epochKey, author: author.id, seq: vector.seq, salt: Self.bytes(vector.salt))
        #expect(Hex.encode(envelope) == vector.envelope)
        let wrapped = try EpochKeyWrap.wrap(
            SymmetricKey(data: Self.bytes(vector.previous_key)), epoch: try EntryID.parse(vector.previous_epoch), under: epochKey)
        #expect(Hex.encode(wrapped) == vector.wrapped_previous)
        // Sealed by Python's HPKE to the recipient: it opens here to the epoch key.
        let recipient = try AgentKey(seed: Self.bytes(vector.recipient_seed))
        #expect(recipient.id.hex == vector.recipient)
        let sealed = SealedEpochKey(
            recipient: recipient.id, encapsulatedKey: Self.bytes(vector.sealed_encapsulated_key), ciphertext: Self.bytes(vector.sealed_ciphertext))
        #expect(try sealed.open(with: ExchangeKey(agent: recipient)) == epochKey)
        #expect(throws: PlexusError.self) { try sealed.open(with: ExchangeKey(agent: author)) }

        // A rekey split in two: the start (with the wrapped key and its part count) and the
        // continuation naming it, byte for byte as Python writes them.
        var seal = Plexus_SealedKey()
        seal.recipient = Data(recipient.id.bytes.prefix(8))
        seal.encapsulatedKey = sealed.encapsulatedKey
        seal.ciphertext = sealed.ciphertext
        var previous = Plexus_WrappedKey()
        previous.epoch = try EntryID.parse(vector.previous_epoch).bytes.asData
        previous.ciphertext = wrapped
        var start = Plexus_GroupControl()
        start.group = group.bytes.asData
        start.rekey.sealed = [seal]
        start.rekey.previous = [previous]
        start.rekey.parts = 2
        #expect(Hex.encode(try start.serializedBytes() as Data) == vector.rekey_start_control)
        var continuation = Plexus_GroupControl()
        continuation.group = group.bytes.asData
        continuation.rekey.sealed = [seal]
        continuation.rekey.continues = epoch.bytes.asData
        #expect(Hex.encode(try continuation.serializedBytes() as Data) == vector.rekey_continuation_control)
    }

    /// Waits for the script without blocking a thread of the shared pool (a blocked thread is
    /// one of two here), and kills it after a minute.
    @Test func anIndependentPythonDerivationAgrees() async throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("interop/vectors.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, Self.directory.path]
        let output = Pipe()
        process.standardOutput = output
        let exited = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { exited.continuation.yield($0.terminationStatus); exited.continuation.finish() }
        try process.run()
        let pid = process.processIdentifier
        let killer = Task {
            try await Task.sleep(for: .seconds(60))
            kill(pid, SIGKILL)
        }
        var status: Int32 = -1
        for await code in exited.stream { status = code }
        killer.cancel()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(status == 0, "\(printed)")
        #expect(printed.contains(#""ok": true"#) && printed.contains("entries.json") && printed.contains("fingerprints.json"))
        #expect(printed.contains("groups.json") && printed.contains("ledger.json") && printed.contains("market.json"))
    }

    struct LedgerVector: Decodable {
        struct Policy: Decodable {
            let id, treasury: String
            let supply_cap, fee_basis_points: Int64
            let balance_cap: Int64?
        }
        struct Entry: Decodable {
            let id, author, type: String
            let seq: UInt64
            let content: JSONValue
        }
        struct Expected: Decodable, Equatable {
            let minted: Int64
            let balances: [String: Int64]
            let receivable: [String: [String: Int64]]
            let escrowed: [String: Int64]
            let refused: [String: String]
            let waiting: [String]
        }
        let policies: [Policy]
        let forks: [String: UInt64]
        let escrows: [String: String]
        let entries: [Entry]
        let expected: Expected
    }

    /// The ledger fold (PROTOCOL.md §14) gives the vector's balances, receivables, escrow,
    /// refusals and waiting entries, from the entries in the order listed and reversed.
    @Test func theLedgerFoldMatchesTheVector() throws {
        let vector = try Self.load("ledger.json", as: LedgerVector.self)
        func agent(_ hex: String) throws -> AgentID { try #require(AgentID(hex)) }
        func entry(_ hex: String) throws -> EntryID { try #require(EntryID(hex)) }
        let policies = try vector.policies.map { policy in
            (id: try entry(policy.id), policy: LedgerPolicy(
                currency: "credits", supplyCap: policy.supply_cap, treasury: try agent(policy.treasury),
                feeBasisPoints: policy.fee_basis_points, balanceCap: policy.balance_cap))
        }
        let forks = Dictionary(uniqueKeysWithValues: try vector.forks.map { (try agent($0.key), $0.value) })
        let escrows = Dictionary(uniqueKeysWithValues: try vector.escrows.map { (try entry($0.key), try agent($0.value)) })
        let items = try vector.entries.enumerated().map { index, item in
            GroupItem(
                id: try entry(item.id), author: try agent(item.author), seq: item.seq, timeMs: Int64(index), cursor: Int64(index + 1),
                expiresMs: nil, inner: GroupInner(type: item.type, content: item.content))
        }
        for order in [items, items.reversed()] {
            let ledger = Ledger.fold(order, policies: policies, forks: forks, escrows: escrows)
            let folded = LedgerVector.Expected(
                minted: ledger.minted,
                balances: Dictionary(uniqueKeysWithValues: ledger.accounts.filter { $0.value.balance != 0 }.map { ($0.key.hex, $0.value.balance) }),
                receivable: Dictionary(uniqueKeysWithValues: ledger.accounts.filter { !$0.value.receivable.isEmpty }.map { account in
                    (account.key.hex, Dictionary(uniqueKeysWithValues: account.value.receivable.map { ($0.key.hex, $0.value) }))
                }),
                escrowed: Dictionary(uniqueKeysWithValues: ledger.escrowed.map { ($0.key.hex, $0.value) }),
                refused: Dictionary(uniqueKeysWithValues: ledger.refused.map { ($0.key.hex, $0.value.kind.rawValue) }),
                waiting: ledger.waiting.map(\.hex).sorted())
            #expect(folded == vector.expected)
        }
    }

    struct MarketVector: Decodable {
        struct Entry: Decodable {
            let id, author, type: String
            let time_ms: Int64
            let content: JSONValue
        }
        struct Purchase: Decodable, Equatable {
            let state: String
            let claims, voided: [String]
            let refund: String?
        }
        struct Expected: Decodable, Equatable {
            let purchases: [String: Purchase]
            let withdrawn: [String: String?]
            let refused: [String]
        }
        let seller_seed, buyer_seed, group, offer_nonce, purchase_nonce, purchase, goods, secret_seal: String
        let seller, buyer, content_key, key_hash, sealed_goods, secret, secret_hash, mask, masked_key: String
        let entries: [Entry]
        let expected: Expected
    }

    /// A market sale's keys (PROTOCOL.md §14.6) as Python derives them: K and r from the
    /// seeds and nonces, the sealed goods, the mask and masked key, r sealed to the seller;
    /// and the market fold of the entries, in the order listed and reversed.
    @Test func theMarketKeysAndFoldMatchTheVector() throws {
        let vector = try Self.load("market.json", as: MarketVector.self)
        let seller = try AgentKey(seed: Self.bytes(vector.seller_seed))
        let buyer = try AgentKey(seed: Self.bytes(vector.buyer_seed))
        #expect(seller.id.hex == vector.seller && buyer.id.hex == vector.buyer)
        let group = try EntryID.parse(vector.group), purchase = try EntryID.parse(vector.purchase)
        let offerNonce = try #require(Data(base64Encoded: vector.offer_nonce))
        let purchaseNonce = try #require(Data(base64Encoded: vector.purchase_nonce))
        let contentKey = MarketCrypto.contentKey(of: seller, group: group, nonce: offerNonce)
        #expect(contentKey.withUnsafeBytes { Hex.encode(Data($0)) } == vector.content_key)
        #expect(Hex.encode(MarketCrypto.hash(contentKey)) == vector.key_hash)
        #expect(Hex.encode(try MarketCrypto.sealGoods(Data(vector.goods.utf8), key: contentKey)) == vector.sealed_goods)
        #expect(try MarketCrypto.openGoods(Self.bytes(vector.sealed_goods), key: contentKey) == Data(vector.goods.utf8))
        let secret = MarketCrypto.buyerSecret(of: buyer, group: group, nonce: purchaseNonce)
        #expect(Hex.encode(secret) == vector.secret && Hex.encode(MarketCrypto.hash(secret)) == vector.secret_hash)
        #expect(Hex.encode(MarketCrypto.mask(secret: secret, purchase: purchase)) == vector.mask)
        let masked = MarketCrypto.maskedKey(contentKey, secret: secret, purchase: purchase)
        #expect(Hex.encode(masked) == vector.masked_key)
        #expect(MarketCrypto.unmask(masked, secret: secret, purchase: purchase) == contentKey)
        // Sealed by Python's HPKE to the seller: it opens here to r, and not for the buyer.
        let sealed = try #require(Data(base64Encoded: vector.secret_seal))
        let opened = try AgentSeal.open(
            encapsulatedKey: sealed.prefix(32), ciphertext: sealed.suffix(48), recipient: seller.id, key: ExchangeKey(agent: seller),
            label: MarketCrypto.secretSealLabel)
        #expect(opened == secret)
        #expect(throws: PlexusError.self) {
            try AgentSeal.open(
                encapsulatedKey: sealed.prefix(32), ciphertext: sealed.suffix(48), recipient: buyer.id, key: ExchangeKey(agent: buyer),
                label: MarketCrypto.secretSealLabel)
        }

        let items = try vector.entries.enumerated().map { index, item in
            GroupItem(
                id: try EntryID.parse(item.id), author: try #require(AgentID(item.author)), seq: 1, timeMs: item.time_ms,
                cursor: Int64(index + 1), expiresMs: nil, inner: GroupInner(type: item.type, content: item.content))
        }
        for order in [items, items.reversed()] {
            let market = Market.fold(order)
            let folded = MarketVector.Expected(
                purchases: Dictionary(uniqueKeysWithValues: market.purchases.values.map { purchase in
                    (purchase.id.hex, MarketVector.Purchase(
                        state: purchase.state.rawValue, claims: purchase.claims.map(\.hex), voided: purchase.voided.map(\.hex),
                        refund: purchase.refund?.hex))
                }),
                withdrawn: Dictionary(uniqueKeysWithValues: market.offers.values.map { ($0.id.hex, $0.withdrawn?.hex) }),
                refused: market.refused.keys.map(\.hex).sorted())
            #expect(folded == vector.expected)
        }
    }
}
