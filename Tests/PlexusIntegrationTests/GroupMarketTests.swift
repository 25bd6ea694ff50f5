import Foundation
import PlexusClient
import PlexusCore
import PlexusNode
import Testing

/// A group's knowledge market on real `plexus serve` processes (owner as treasury, Alice
/// and Bob as members): a sale from offer to goods through the CLI, read by nobody else
/// and nowhere in plaintext on disk; a seller whose claim does not reveal the key, proven
/// bad by the buyer's node, which takes the price back; a seller who never claims, whose
/// buyer's node takes the price back after the deadline.
@Suite(.serialized) struct GroupMarketTests {
    static let policy = PolicyRequest(currency: "credits", supplyCap: 10_000, faucet: 100, feeBasisPoints: 1_000)

    /// Files under `directory` whose bytes contain any of `needles`.
    static func files(under directory: String, holding needles: [Data]) -> [String] {
        var found: [String] = []
        let root = URL(fileURLWithPath: directory)
        guard let walk = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return ["(unreadable)"] }
        for case let url as URL in walk {
            guard let bytes = try? Data(contentsOf: url) else { continue }
            if needles.contains(where: { bytes.range(of: $0) != nil }) { found.append(url.lastPathComponent) }
        }
        return found
    }

    /// Whether every node folds these balances with nothing in flight (no price locked).
    static func settled(_ nodes: [ServeProcess], group: String, _ expected: [AgentID: Int64]) async throws -> Bool {
        for node in nodes {
            let ledger = try await node.client.ledger(group: group)
            let balances = Dictionary(uniqueKeysWithValues: ledger.accounts.map { ($0.agent, $0.balance) })
            guard ledger.inFlight == 0, expected.allSatisfy({ balances[$0.key] == $0.value }) else { return false }
        }
        return true
    }

    static func purchase(_ node: ServeProcess, offer: EntryID) async throws -> PurchaseView? {
        try await node.client.offer(offer).purchases.first
    }

    @Test func anOfferIsBoughtClaimedAndReadOnlyByItsSellerAndBuyer() async throws {
        let economy = try await GroupLedgerTests.economy("market", policy: Self.policy)
        let (owner, alice, bob, group) = (economy.owner, economy.alice, economy.bob, economy.group)
        let (ownerID, aliceID, bobID) = (economy.ownerID, economy.aliceID, economy.bobID)
        let marker = "tide-secret-\(UUID().uuidString)"
        let goods = "High water at the harbour: 06:12 and 18:37 (\(marker))\n"

        // Refused: a price of nothing, goods too large for an offer.
        #expect(await GroupTests.refusal {
            _ = try await bob.client.createOffer(group: group, OfferCreateRequest(title: "free", price: 0, content: Data("x".utf8)))
        } == .invalidArgument)
        #expect(await GroupTests.refusal {
            _ = try await bob.client.createOffer(
                group: group, OfferCreateRequest(title: "huge", price: 1, content: Data(count: MarketLimits.maxGoodsBytes + 1)))
        } == .tooLarge)

        // Bob sells through the CLI, the goods from standard input.
        let created = try await runPlexus(
            ["offer", "create", group, "-", "--title", "Tide tables", "--description", "high and low water, this week", "--price", "30",
             "--tag", "tides", "--tag", "harbour", "--name", "tides.txt", "--media-type", "text/plain", "--data", bob.directory.path, "--json"],
            home: bob.directory.path, stdin: goods)
        #expect(created.status == 0, "\(created.stderr)")
        let offer = try JSONDecoder().decode(OfferView.self, from: Data(created.stdout.utf8))
        #expect(offer.seller == bobID && offer.price == 30 && offer.readable && offer.size == goods.utf8.count)

        // Alice finds it by a word of its description; she cannot read it before buying.
        try await MeshTests.eventually("Alice finds the offer", within: .seconds(60)) {
            try await alice.client.offers(group: group, OfferListRequest(query: "water")).offers.map(\.id) == [offer.id]
        }
        #expect(try await alice.client.offers(group: group, OfferListRequest(query: "volcano")).offers.isEmpty)
        #expect(try await alice.client.offer(offer.id).readable == false)
        #expect(await GroupTests.refusal { _ = try await alice.client.goods(offer.id) } == .forbidden)
        #expect(await GroupTests.refusal { _ = try await bob.client.buy(offer.id, BuyRequest()) } == .invalidContent)

        // Alice buys through the CLI: Bob's node claims, her node opens the goods.
        let file = alice.directory.file("bought.txt")
        let bought = try await runPlexus(
            ["offer", "buy", offer.id.hex, "-o", file.path, "--wait", "120", "--data", alice.directory.path], home: alice.directory.path,
            timeout: .seconds(180))
        #expect(bought.status == 0, "\(bought.stderr)")
        #expect(try String(contentsOf: file, encoding: .utf8) == goods)
        // The scan below finds the goods where they are in plaintext (here, the file written out).
        let needles = [Data(marker.utf8), Data(Data(goods.utf8).base64EncodedString().utf8)]
        #expect(Self.files(under: alice.directory.path, holding: needles) == ["bought.txt"])
        try FileManager.default.removeItem(at: file)
        let purchase = try #require(try await Self.purchase(alice, offer: offer.id))
        #expect(purchase.state == "claimed" && purchase.claim != nil && purchase.buyer == aliceID)
        #expect(await GroupTests.refusal { _ = try await alice.client.buy(offer.id, BuyRequest()) } == .rejected)

        // The price moved from Alice to Bob on every node, with no fee.
        try await MeshTests.eventually("every node settles the purchase", within: .seconds(60)) {
            try await Self.settled([owner, alice, bob], group: group, [aliceID: 70, bobID: 130])
        }
        #expect(try await bob.client.offer(offer.id).sales == 1)

        // The owner, a member who did not buy, cannot read the goods; no node holds them in
        // plaintext on disk (the group's entries are sealed, the goods sealed again).
        #expect(try await owner.client.offer(offer.id).readable == false)
        #expect(try await owner.client.offer(offer.id).purchases.isEmpty)
        #expect(await GroupTests.refusal { _ = try await owner.client.goods(offer.id) } == .forbidden)
        for node in [owner, alice, bob] {
            #expect(Self.files(under: node.directory.path, holding: needles).isEmpty)
        }

        // Bob withdraws: lists hide it, nobody buys it, Alice still reads what she bought.
        #expect(try await bob.client.withdraw(offer.id).withdrawn)
        try await MeshTests.eventually("the owner sees the offer withdrawn", within: .seconds(60)) {
            try await owner.client.offer(offer.id).withdrawn
        }
        #expect(try await owner.client.offers(group: group, OfferListRequest()).offers.isEmpty)
        #expect(try await owner.client.offers(group: group, OfferListRequest(includeWithdrawn: true)).offers.map(\.id) == [offer.id])
        #expect(await GroupTests.refusal { _ = try await owner.client.buy(offer.id, BuyRequest()) } == .rejected)
        #expect(await GroupTests.refusal { _ = try await alice.client.withdraw(offer.id) } == .forbidden)

        // After a restart every node folds the same balances and Alice's node opens the goods again.
        let before = try await GroupLedgerTests.balances(owner, group: group)
        var restarted: [ServeProcess] = []
        for node in [owner, alice, bob] {
            _ = try await node.stop()
            restarted.append(try await GroupTests.start(directory: node.directory))
        }
        for node in restarted {
            #expect(try await GroupLedgerTests.balances(node, group: group) == before)
        }
        #expect(try await restarted[1].client.goods(offer.id).bytes == Data(goods.utf8))
        #expect(before[ownerID].map { $0 >= 0 } == true)
    }

    /// Bob publishes an offer whose key his node cannot derive and claims Alice's purchase
    /// with a masked key that opens to nothing: Alice's node proves the claim bad with her
    /// secret and takes the price back, before the deadline; every node agrees.
    /// Goods over what an offer carries are sold as a blob sealed under the offer's key: the
    /// buyer's CLI fetches and opens it; a member who did not buy fetches only ciphertext.
    @Test func largeGoodsAreSoldAsASealedBlob() async throws {
        let economy = try await GroupLedgerTests.economy("big market", policy: Self.policy)
        let (owner, alice, bob, group) = (economy.owner, economy.alice, economy.bob, economy.group)
        let marker = "survey-\(UUID().uuidString)"
        let goods = Data(String(repeating: "\(marker) depth 12.5 m; ", count: 30_000).utf8)
        let input = bob.directory.file("survey.txt")
        try goods.write(to: input)
        let created = try await runPlexus(
            ["offer", "create", group, input.path, "--title", "Harbour survey", "--price", "25", "--media-type", "text/plain",
             "--data", bob.directory.path, "--json"],
            home: bob.directory.path)
        #expect(created.status == 0, "\(created.stderr)")
        let offer = try JSONDecoder().decode(OfferView.self, from: Data(created.stdout.utf8))
        #expect(offer.mediaType == MarketLimits.blobGoodsMediaType)
        try await MeshTests.eventually("Alice sees the offer", within: .seconds(60)) { (try? await alice.client.offer(offer.id)) != nil }

        let file = alice.directory.file("survey.out")
        let bought = try await runPlexus(
            ["offer", "buy", offer.id.hex, "-o", file.path, "--wait", "120", "--data", alice.directory.path], home: alice.directory.path,
            timeout: .seconds(180))
        #expect(bought.status == 0, "\(bought.stderr)")
        #expect(try Data(contentsOf: file) == goods, "the buyer wrote out the goods")

        let goodsBytes = try #require(try await bob.client.goods(offer.id).bytes)
        let reference = try #require(BlobReference(in: try JSONValue(parsing: goodsBytes)))
        #expect(reference.size == UInt64(goods.count))
        _ = try await owner.client.fetchBlob(reference.id, BlobFetchRequest(waitMs: 30_000))
        #expect(await GroupTests.refusal { try await owner.client.readBlob(reference.id, offer: offer.id) { _ in } } == .forbidden)
        for node in [owner, alice, bob] {
            #expect(Self.files(under: node.directory.url.appendingPathComponent("blobs").path, holding: [Data(marker.utf8)]).isEmpty)
        }
        for node in [owner, alice, bob] { _ = try await node.stop() }
    }

    @Test func aClaimThatDoesNotRevealTheKeyIsProvenBadAndThePriceGoesBack() async throws {
        let economy = try await GroupLedgerTests.economy("bad-seller", policy: Self.policy)
        let (owner, alice, bob, group) = (economy.owner, economy.alice, economy.bob, economy.group)
        let (aliceID, bobID) = (economy.aliceID, economy.bobID)
        func random(_ count: Int) -> String { Data((0..<count).map { _ in UInt8.random(in: 0...255) }).base64EncodedString() }
        let hexHash = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()

        let offer = try await bob.client.publish(group: group, PublishRequest(type: "market.offer", content: .object([
            "title": .string("Snake oil"), "price": .integer(40), "tags": .array([]), "key_hash": .string(hexHash),
            "goods": .string(random(64)), "nonce": .string(random(16)),
        ]))).id
        try await MeshTests.eventually("Alice sees the offer", within: .seconds(60)) {
            (try? await alice.client.offer(offer))?.price == 40
        }
        let bought = try await alice.client.buy(offer, BuyRequest(deadlineS: 3600))
        #expect(bought.state == "open")
        try await MeshTests.eventually("Bob's node holds the purchase", within: .seconds(60)) {
            try await Self.purchase(bob, offer: offer)?.id == bought.id
        }
        // Bob's node never claims an offer whose key it does not derive; Bob claims by hand,
        // on his chain (after his faucet receipt, under the current policy).
        #expect(try await Self.purchase(bob, offer: offer)?.state == "open")
        let prev = try #require(try await bob.client.account(group: group, agent: bobID, limit: 1).postings.first)
        let policyID = try #require(try await bob.client.ledger(group: group).policy?.id)
        let claim = try await bob.client.publish(group: group, PublishRequest(type: "market.claim", content: .object([
            "purchase": .string(bought.id.hex), "masked_key": .string(random(32)), "prev": .string(prev.id.hex),
            "policy": .string(policyID.hex),
        ]))).id

        try await MeshTests.eventually("every node voids the claim and counts Alice's refund", within: .seconds(60)) {
            for node in [alice, bob] {
                guard let purchase = try await Self.purchase(node, offer: offer),
                      purchase.state == "refunded", purchase.voided == [claim], purchase.claim == nil
                else { return false }
            }
            return try await Self.settled([owner, alice, bob], group: group, [aliceID: 100, bobID: 100])
        }
        let refunded = try #require(try await Self.purchase(alice, offer: offer))
        #expect(refunded.refund != nil && refunded.deadlineMs > Int64(Date().timeIntervalSince1970 * 1000))
        #expect(await GroupTests.refusal { _ = try await alice.client.goods(offer) } == .forbidden)
    }

    /// Bob's node is down when Alice buys: it never claims, and Alice's node takes the price
    /// back once the deadline has passed. Bob's node, back, does not claim a purchase past
    /// its deadline; every node agrees on the refund.
    @Test func aPurchaseNobodyClaimsIsTakenBackAfterItsDeadline() async throws {
        let economy = try await GroupLedgerTests.economy("absent-seller", policy: Self.policy)
        let (owner, alice, bob, group) = (economy.owner, economy.alice, economy.bob, economy.group)
        let (aliceID, bobID) = (economy.aliceID, economy.bobID)
        let offer = try await bob.client.createOffer(
            group: group, OfferCreateRequest(title: "Soundings", tags: ["depth"], price: 25, content: Data("12 fathoms".utf8))).id
        try await MeshTests.eventually("Alice sees the offer", within: .seconds(60)) {
            (try? await alice.client.offer(offer))?.price == 25
        }
        _ = try await bob.stop()

        let bought = try await alice.client.buy(offer, BuyRequest(deadlineS: 2))
        #expect(bought.state == "open")
        #expect(await GroupTests.refusal { _ = try await alice.client.goods(offer) } == .rejected)
        try await MeshTests.eventually("Alice's node takes the price back after the deadline", within: .seconds(60)) {
            try await Self.purchase(alice, offer: offer)?.state == "refunded"
        }
        let refunded = try #require(try await Self.purchase(alice, offer: offer))
        let refund = try #require(try await alice.client.account(group: group, agent: aliceID, limit: 50).postings.first { $0.id == refunded.refund })
        #expect(refund.kind == "refund" && refund.timeMs >= bought.deadlineMs)

        let back = try await GroupTests.start(directory: bob.directory)
        try await MeshTests.eventually("Bob's node, back, holds the refund and claims nothing", within: .seconds(60)) {
            guard let purchase = try await Self.purchase(back, offer: offer), purchase.state == "refunded" else { return false }
            return purchase.claim == nil
        }
        try await MeshTests.eventually("every node counts the refund", within: .seconds(60)) {
            try await Self.settled([owner, alice, back], group: group, [aliceID: 100, bobID: 100])
        }
        #expect(try await back.client.offer(offer).sales == 0)
    }
}
