import Crypto
import Foundation
import PlexusCore
import Testing
@testable import PlexusProtocol

/// The knowledge market (PROTOCOL.md §14.6): the sale's cryptography, the market fold, and
/// the ledger settling a purchase where the market says.
@Suite struct MarketTests {
    typealias Chains = LedgerTests.Chains
    static let (treasury, alice, bob, carol) = (LedgerTests.treasury, LedgerTests.alice, LedgerTests.bob, LedgerTests.carol)

    /// One sale's secrets: the content key K and the buyer's secret r.
    struct Sale {
        let key = SymmetricKey(size: .bits256)
        let secret = Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
    }

    // MARK: - Cryptography

    @Test func aClaimsMaskedKeyOpensOnlyUnderTheBuyersSecret() throws {
        let sale = Sale()
        let purchase = EntryID(hashing: [7])
        let goods = Data("the survey's raw answers".utf8)
        let sealed = try MarketCrypto.sealGoods(goods, key: sale.key)
        #expect(sealed.count == goods.count + 16 && sealed.range(of: goods) == nil)
        let masked = MarketCrypto.maskedKey(sale.key, secret: sale.secret, purchase: purchase)
        #expect(masked != sale.key.withUnsafeBytes { Data($0) })
        // The buyer (who knows r) recovers K and opens the goods...
        let recovered = MarketCrypto.unmask(masked, secret: sale.secret, purchase: purchase)
        #expect(MarketCrypto.hash(recovered) == MarketCrypto.hash(sale.key))
        #expect(try MarketCrypto.openGoods(sealed, key: recovered) == goods)
        // ...no one with another secret, or the masked key itself, does.
        let guess = MarketCrypto.unmask(masked, secret: Sale().secret, purchase: purchase)
        #expect(MarketCrypto.hash(guess) != MarketCrypto.hash(sale.key))
        #expect(throws: PlexusError.self) { try MarketCrypto.openGoods(sealed, key: guess) }
        #expect(throws: PlexusError.self) { try MarketCrypto.openGoods(sealed, key: SymmetricKey(data: masked)) }
        // The mask is bound to the purchase.
        #expect(MarketCrypto.unmask(masked, secret: sale.secret, purchase: EntryID(hashing: [8])) != recovered)
    }

    @Test func keysAndSecretsAreDerivedAgainFromTheSeedAndNonce() {
        let agent = AgentKey()
        let group = EntryID(hashing: [1])
        let nonce = MarketCrypto.nonce()
        #expect(MarketCrypto.hash(MarketCrypto.contentKey(of: agent, group: group, nonce: nonce))
            == MarketCrypto.hash(MarketCrypto.contentKey(of: agent, group: group, nonce: nonce)))
        #expect(MarketCrypto.buyerSecret(of: agent, group: group, nonce: nonce) == MarketCrypto.buyerSecret(of: agent, group: group, nonce: nonce))
        // Another nonce, group, agent or purpose gives another key.
        let key = MarketCrypto.hash(MarketCrypto.contentKey(of: agent, group: group, nonce: nonce))
        #expect(key != MarketCrypto.hash(MarketCrypto.contentKey(of: agent, group: group, nonce: MarketCrypto.nonce())))
        #expect(key != MarketCrypto.hash(MarketCrypto.contentKey(of: agent, group: EntryID(hashing: [2]), nonce: nonce)))
        #expect(key != MarketCrypto.hash(MarketCrypto.contentKey(of: AgentKey(), group: group, nonce: nonce)))
        #expect(key != MarketCrypto.hash(MarketCrypto.buyerSecret(of: agent, group: group, nonce: nonce)))
    }

    // MARK: - Entries

    /// Alice holds 500.
    static func funded() -> Chains {
        EscrowTests.funded()
    }

    /// `sealedUnder`: the key the goods are sealed with (by default the one the offer promises).
    static func offer(
        _ chains: inout Chains, _ sale: Sale, price: Int64 = 120, by seller: AgentID = bob, sealedUnder: SymmetricKey? = nil
    ) throws -> EntryID {
        let goods = try MarketCrypto.sealGoods(Data("goods".utf8), key: sealedUnder ?? sale.key)
        return Self.entry(&chains, MarketEntryType.offer, by: seller, [
            "title": .string("labelled images"), "price": .integer(price), "tags": .array([.string("vision")]),
            "key_hash": .string(Hex.encode(MarketCrypto.hash(sale.key))), "goods": .string(goods.base64EncodedString()),
            "nonce": .string(MarketCrypto.nonce().base64EncodedString()),
        ])
    }

    static func buy(
        _ chains: inout Chains, _ sale: Sale, offer: EntryID, price: Int64 = 120, by buyer: AgentID = alice, seller: AgentID = bob,
        deadline: Int64 = 1_000, timeMs: Int64? = nil
    ) -> EntryID {
        chains.add(MarketEntryType.buy, by: buyer, [
            "offer": .string(offer.hex), "seller": .string(seller.hex), "price": .integer(price),
            "key_hash": .string(Hex.encode(MarketCrypto.hash(sale.key))), "secret_hash": .string(Hex.encode(MarketCrypto.hash(sale.secret))),
            "secret_seal": .string(Data(repeating: 7, count: 80).base64EncodedString()),
            "nonce": .string(MarketCrypto.nonce().base64EncodedString()), "deadline_ms": .integer(deadline),
        ], timeMs: timeMs)
    }

    @discardableResult
    static func claim(_ chains: inout Chains, _ sale: Sale, purchase: EntryID, by seller: AgentID = bob, honest: Bool = true) -> EntryID {
        let masked = honest ? MarketCrypto.maskedKey(sale.key, secret: sale.secret, purchase: purchase) : Data(repeating: 1, count: 32)
        return chains.add(MarketEntryType.claim, by: seller, ["purchase": .string(purchase.hex), "masked_key": .string(masked.base64EncodedString())])
    }

    /// A market entry that is not a chain entry (no prev, no policy).
    @discardableResult
    static func entry(_ chains: inout Chains, _ type: String, by author: AgentID, _ content: [String: JSONValue]) -> EntryID {
        let seq = (chains.seqs[author] ?? 0) + 1
        chains.seqs[author] = seq
        let id = EntryID(hashing: Array("\(author.hex) \(seq) \(type) \(chains.items.count)".utf8))
        chains.items.append(GroupItem(
            id: id, author: author, seq: seq, timeMs: Int64(seq), cursor: Int64(chains.items.count + 1), expiresMs: nil,
            inner: GroupInner(type: type, content: .object(content))))
        return id
    }

    @discardableResult
    static func reject(_ chains: inout Chains, secret: Data, purchase: EntryID, claim: EntryID, by buyer: AgentID = alice) -> EntryID {
        Self.entry(&chains, MarketEntryType.reject, by: buyer, [
            "purchase": .string(purchase.hex), "claim": .string(claim.hex), "secret": .string(secret.base64EncodedString()),
        ])
    }

    @discardableResult
    static func refund(_ chains: inout Chains, purchase: EntryID, by buyer: AgentID = alice, at timeMs: Int64) -> EntryID {
        chains.add(MarketEntryType.refund, by: buyer, ["purchase": .string(purchase.hex)], timeMs: timeMs)
    }

    /// The market, then the ledger under the escrows it settles: what a node does.
    static func fold(_ items: [GroupItem]) -> (Market, Ledger) {
        let market = Market.fold(items)
        return (market, Ledger.fold(items, policies: [(LedgerTests.policyID, LedgerTests.policy)], escrows: market.escrows))
    }

    // MARK: - Settling

    @Test func aClaimTakesThePriceAndRevealsTheKeyToTheBuyer() throws {
        let sale = Sale()
        var chains = Self.funded()
        let offer = try Self.offer(&chains, sale)
        let purchase = Self.buy(&chains, sale, offer: offer)
        var (market, ledger) = Self.fold(chains.items)
        #expect(market.offers[offer]?.price == 120 && market.offers[offer]?.size == 5)
        #expect(market.purchases[purchase]?.state == .open && ledger.escrowed == [purchase: 120])
        #expect(ledger.balance(of: Self.alice) == 380 && EscrowTests.balancesAddUp(ledger))

        let claim = Self.claim(&chains, sale, purchase: purchase)
        (market, ledger) = Self.fold(chains.items)
        #expect(market.purchases[purchase]?.state == .claimed && market.escrows == [purchase: Self.bob])
        #expect(ledger.balance(of: Self.bob) == 120 && ledger.postings[claim]?.received == [purchase] && ledger.escrowed.isEmpty)
        #expect(ledger.balance(of: Self.alice) == 380 && EscrowTests.balancesAddUp(ledger))
        // The buyer's secret opens the claim to the offer's key.
        let key = MarketCrypto.unmask(try #require(market.claims[claim]).maskedKey, secret: sale.secret, purchase: purchase)
        #expect(MarketCrypto.hash(key) == market.offers[offer]?.keyHash)
        #expect(try MarketCrypto.openGoods(try #require(market.offers[offer]).goods, key: key) == Data("goods".utf8))
    }

    @Test func aBadClaimIsProvenBadAndTheBuyerTakesThePriceBack() throws {
        let sale = Sale()
        var chains = Self.funded()
        let offer = try Self.offer(&chains, sale)
        let purchase = Self.buy(&chains, sale, offer: offer)
        let bad = Self.claim(&chains, sale, purchase: purchase, honest: false)
        var (market, ledger) = Self.fold(chains.items)
        // Until it is proven bad, the claim stands.
        #expect(market.purchases[purchase]?.state == .claimed && ledger.balance(of: Self.bob) == 120)

        // A reject with another secret proves nothing; one with the purchase's secret voids it.
        let wrong = Self.reject(&chains, secret: Sale().secret, purchase: purchase, claim: bad)
        (market, _) = Self.fold(chains.items)
        #expect(market.refused[wrong] != nil && market.purchases[purchase]?.state == .claimed)
        Self.reject(&chains, secret: sale.secret, purchase: purchase, claim: bad)
        (market, ledger) = Self.fold(chains.items)
        #expect(market.purchases[purchase]?.voided == [bad] && market.purchases[purchase]?.state == .open)
        #expect(ledger.refused[bad]?.kind == .notReceivable && ledger.balance(of: Self.bob) == 0 && ledger.escrowed == [purchase: 120])

        // The buyer need not wait for the deadline after a proven bad claim.
        let refund = Self.refund(&chains, purchase: purchase, at: 10)
        (market, ledger) = Self.fold(chains.items)
        #expect(market.purchases[purchase]?.state == .refunded && ledger.postings[refund] != nil)
        #expect(ledger.balance(of: Self.alice) == 500 && ledger.balance(of: Self.bob) == 0 && EscrowTests.balancesAddUp(ledger))
    }

    /// The claim reveals the promised key, but the offer's goods were sealed under another:
    /// the buyer's secret proves that too, and the price goes back.
    @Test func aClaimWhoseKeyDoesNotOpenTheGoodsIsProvenBad() throws {
        let sale = Sale()
        var chains = Self.funded()
        let offer = try Self.offer(&chains, sale, sealedUnder: SymmetricKey(size: .bits256))
        let purchase = Self.buy(&chains, sale, offer: offer)
        let claim = Self.claim(&chains, sale, purchase: purchase)
        var (market, _) = Self.fold(chains.items)
        #expect(market.purchases[purchase]?.state == .claimed)
        Self.reject(&chains, secret: sale.secret, purchase: purchase, claim: claim)
        Self.refund(&chains, purchase: purchase, at: 10)
        let ledger: Ledger
        (market, ledger) = Self.fold(chains.items)
        #expect(market.purchases[purchase]?.voided == [claim] && market.purchases[purchase]?.state == .refunded)
        #expect(ledger.balance(of: Self.alice) == 500 && ledger.balance(of: Self.bob) == 0 && EscrowTests.balancesAddUp(ledger))
    }

    @Test func anHonestClaimCannotBeRejected() throws {
        let sale = Sale()
        var chains = Self.funded()
        let purchase = Self.buy(&chains, sale, offer: try Self.offer(&chains, sale))
        let claim = Self.claim(&chains, sale, purchase: purchase)
        let reject = Self.reject(&chains, secret: sale.secret, purchase: purchase, claim: claim)
        let (market, ledger) = Self.fold(chains.items)
        #expect(market.refused[reject] == "the claim's masked key opens to the promised key, and that key opens the goods")
        #expect(market.purchases[purchase]?.state == .claimed && ledger.balance(of: Self.bob) == 120)
    }

    @Test func aRefundCountsOnlyAfterTheDeadlineAndAClaimBeatsIt() throws {
        let sale = Sale()
        var chains = Self.funded()
        let purchase = Self.buy(&chains, sale, offer: try Self.offer(&chains, sale), deadline: 1_000)
        let early = Self.refund(&chains, purchase: purchase, at: 999)
        var (market, ledger) = Self.fold(chains.items)
        #expect(market.refused[early] != nil && ledger.refused[early]?.kind == .notReceivable && ledger.balance(of: Self.alice) == 380)

        var late = Self.funded()
        let latePurchase = Self.buy(&late, sale, offer: try Self.offer(&late, sale), deadline: 1_000)
        let refund = Self.refund(&late, purchase: latePurchase, at: 1_000)
        (market, ledger) = Self.fold(late.items)
        #expect(market.purchases[latePurchase]?.refund == refund && ledger.balance(of: Self.alice) == 500)

        // The seller's claim arrives after all: it counts and the refund does not (the buyer
        // has the key).
        Self.claim(&late, sale, purchase: latePurchase)
        (market, ledger) = Self.fold(late.items)
        #expect(market.purchases[latePurchase]?.state == .claimed && market.refused[refund] == "the seller claimed the purchase")
        #expect(ledger.refused[refund]?.kind == .notReceivable && ledger.balance(of: Self.alice) == 380 && ledger.balance(of: Self.bob) == 120)
        #expect(EscrowTests.balancesAddUp(ledger))
    }

    @Test func onlyTheSellerClaimsOrWithdrawsAndOnlyTheBuyerTakesBack() throws {
        let sale = Sale()
        var chains = Self.funded()
        let offer = try Self.offer(&chains, sale)
        let purchase = Self.buy(&chains, sale, offer: offer, deadline: 5)
        let foreign = Self.claim(&chains, sale, purchase: purchase, by: Self.carol)
        let notMine = Self.refund(&chains, purchase: purchase, by: Self.carol, at: 100)
        let withdrawal = Self.entry(&chains, MarketEntryType.withdraw, by: Self.carol, ["offer": .string(offer.hex)])
        var (market, ledger) = Self.fold(chains.items)
        #expect(market.refused[foreign] != nil && market.refused[notMine] != nil && market.refused[withdrawal] != nil)
        #expect(market.offers[offer]?.withdrawn == nil && market.purchases[purchase]?.state == .open && ledger.escrowed == [purchase: 120])

        let own = Self.entry(&chains, MarketEntryType.withdraw, by: Self.bob, ["offer": .string(offer.hex)])
        (market, ledger) = Self.fold(chains.items)
        #expect(market.offers[offer]?.withdrawn == own)
        // A withdrawal does not touch purchases made: the seller may still claim.
        Self.claim(&chains, sale, purchase: purchase)
        (market, ledger) = Self.fold(chains.items)
        #expect(market.purchases[purchase]?.state == .claimed && ledger.balance(of: Self.bob) == 120)
    }

    @Test func aPurchasePastTheBalanceIsRefusedAndTheSellerCannotClaimIt() throws {
        let sale = Sale()
        var chains = Self.funded()
        let purchase = Self.buy(&chains, sale, offer: try Self.offer(&chains, sale, price: 900), price: 900)
        let claim = Self.claim(&chains, sale, purchase: purchase)
        let (_, ledger) = Self.fold(chains.items)
        #expect(ledger.refused[purchase]?.kind == .insufficient && ledger.refused[claim]?.kind == .notReceivable)
        #expect(ledger.balance(of: Self.alice) == 500 && ledger.balance(of: Self.bob) == 0 && EscrowTests.balancesAddUp(ledger))
    }

    @Test func malformedMarketEntriesAreRefusedWithAReason() throws {
        var chains = Self.funded()
        let noPrice = Self.entry(&chains, MarketEntryType.offer, by: Self.bob, ["title": .string("x")])
        let selfBuy = Self.buy(&chains, Sale(), offer: noPrice, by: Self.bob, seller: Self.bob)
        let pastDeadline = Self.buy(&chains, Sale(), offer: noPrice, deadline: 0)
        // A wait beyond 64 bits (signed at the lowest time) is refused, not computed.
        let endlessWait = Self.buy(&chains, Sale(), offer: noPrice, deadline: 0, timeMs: .min)
        let (market, ledger) = Self.fold(chains.items)
        #expect(market.refused[endlessWait]?.contains("deadline") == true)
        #expect(market.refused[noPrice]?.contains("price") == true)
        #expect(market.refused[selfBuy]?.contains("own author") == true && market.refused[pastDeadline]?.contains("deadline") == true)
        #expect(market.offers.isEmpty && market.purchases.isEmpty)
        // Nor does the ledger lock anything for a purchase no one could settle.
        #expect(ledger.refused[selfBuy]?.kind == .malformed && ledger.refused[pastDeadline]?.kind == .malformed)
        #expect(ledger.balance(of: Self.alice) == 500 && ledger.escrowed.isEmpty)
    }

    /// Settling is a function of the held entries: every order of arrival gives the same
    /// market and balances.
    @Test func everyOrderOfArrivalSettlesTheSame() throws {
        let (first, second) = (Sale(), Sale())
        var chains = Self.funded()
        let goodOffer = try Self.offer(&chains, first)
        let badOffer = try Self.offer(&chains, second, price: 50, by: Self.carol)
        let bought = Self.buy(&chains, first, offer: goodOffer)
        let cheated = Self.buy(&chains, second, offer: badOffer, price: 50, seller: Self.carol)
        Self.claim(&chains, first, purchase: bought)
        let bad = Self.claim(&chains, second, purchase: cheated, by: Self.carol, honest: false)
        Self.reject(&chains, secret: second.secret, purchase: cheated, claim: bad)
        Self.refund(&chains, purchase: cheated, at: 20)
        let (market, ledger) = Self.fold(chains.items)
        #expect(market.purchases[bought]?.state == .claimed && market.purchases[cheated]?.state == .refunded)
        #expect(ledger.balance(of: Self.alice) == 380 && ledger.balance(of: Self.bob) == 120 && ledger.balance(of: Self.carol) == 0)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let (shuffledMarket, shuffledLedger) = Self.fold(chains.items.shuffled(using: &generator))
            #expect(shuffledMarket.escrows == market.escrows && shuffledMarket.refused == market.refused)
            #expect(shuffledLedger.accounts == ledger.accounts && shuffledLedger.refused == ledger.refused)
        }
    }
}
