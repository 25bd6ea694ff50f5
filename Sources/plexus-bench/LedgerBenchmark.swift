import ArgumentParser
import Foundation
import PlexusClient
import PlexusCore
import PlexusProtocol

/// `plexus-bench ledger`: the group ledger's fold (PROTOCOL.md §14) over generated account
/// chains: how long rebuilding balances from N chain entries takes, and what one arriving
/// transfer costs at several ledger sizes (extending the fold a node keeps, judging an own
/// entry, extending a copy, folding everything again). In-process and pure: no signing, sealing or storage.
/// Then, on three `plexus serve` processes: `--purchases N` market purchases, each timed from
/// the buyer's request to the goods opened, and `--arrivals N` transfers taken in by a node
/// that was down while they were signed (ingest, opening and fold).
struct LedgerBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger", abstract: "Ledger fold: rebuild time for N chain entries, and what one arriving transfer costs by ledger size.")

    @Option(help: "Chain entries to rebuild from.")
    var entries = 1_000_000

    @Option(help: "Accounts transferring among themselves.")
    var accounts = 100

    @Option(help: "Ledger sizes at which one arriving transfer is folded (comma-separated).")
    var sizes = "1000,10000,100000,1000000"

    @Option(help: "Market purchases across three serve processes (0 skips them).")
    var purchases = 20

    @Option(help: "Transfers signed while a third node is down, then taken in by it (0 skips them).")
    var arrivals = 2_000

    func run() async throws {
        guard (2...10_000).contains(accounts) else { throw BenchmarkError("--accounts must be from 2 to 10,000") }
        guard let treasury = AgentID(bytes: Array(repeating: 0xEE, count: 32)) else { throw BenchmarkError("no treasury id") }
        let members = (0..<accounts).compactMap { n in AgentID(bytes: Array(repeating: UInt8(n % 200), count: 30) + [UInt8(n / 200), 1]) }
        let policyID = EntryID(hashing: Array("bench policy".utf8))
        let policy = LedgerPolicy(currency: "credits", supplyCap: LedgerPolicy.maxAmount, treasury: treasury, feeBasisPoints: 100)
        let policies = [(id: policyID, policy: policy)]

        let build = ContinuousClock.now
        let items = Self.traffic(entries: entries, treasury: treasury, members: members, policyID: policyID)
        let buildSeconds = (ContinuousClock.now - build).seconds

        // Rebuild from every entry, twice (the faster counts; the first warms caches).
        var rebuild = Duration.seconds(1_000_000)
        var ledger = Ledger()
        for _ in 0..<2 {
            let start = ContinuousClock.now
            ledger = Ledger.fold(items, policies: policies)
            rebuild = min(rebuild, ContinuousClock.now - start)
        }
        let balances = ledger.accounts.values.reduce(0) { $0 + $1.balance }

        // One arriving transfer at each size. A node extends the fold it keeps with it (in
        // place); it judges one of its own before signing on a scratch fold (or, when its
        // chain waits, by extending a copy); a fold made again from every entry is what a
        // gap or a changed policy costs.
        var oneArriving: [[String: Any]] = []
        for size in sizes.split(separator: ",").compactMap({ Int($0) }) where size > 1 && size <= items.count {
            let before = Array(items.prefix(size - 1))
            let arriving = [items[size - 1]]
            var (extend, judged, copied, whole) = (
                Duration.seconds(1_000_000), Duration.seconds(1_000_000), Duration.seconds(1_000_000), Duration.seconds(1_000_000)
            )
            for _ in 0..<3 {
                var fold = LedgerFold(before, policies: policies)
                var start = ContinuousClock.now
                guard fold.judge(arriving[0]) != nil else { throw BenchmarkError("the arriving entry could not be judged") }
                judged = min(judged, ContinuousClock.now - start)
                start = ContinuousClock.now
                var copy = fold
                guard copy.extend(with: arriving) else { throw BenchmarkError("the arriving entry did not extend the fold") }
                copied = min(copied, ContinuousClock.now - start)
                start = ContinuousClock.now
                guard fold.extend(with: arriving) else { throw BenchmarkError("the arriving entry did not extend the fold") }
                extend = min(extend, ContinuousClock.now - start)
                start = ContinuousClock.now
                _ = LedgerFold(before + arriving, policies: policies)
                whole = min(whole, ContinuousClock.now - start)
            }
            oneArriving.append([
                "ledger_entries": size,
                "extend_in_place_ms": extend.seconds * 1000, "transfers_per_s": 1 / max(extend.seconds, 1e-9),
                "judge_ms": judged.seconds * 1000, "extend_a_copy_ms": copied.seconds * 1000, "fold_again_ms": whole.seconds * 1000,
            ])
        }

        var result: [String: Any] = [
            "scenario": "ledger", "entries": items.count, "accounts": accounts,
            "machine": ["cores": ProcessInfo.processInfo.activeProcessorCount],
            "generate_seconds": buildSeconds,
            "rebuild": [
                "seconds": rebuild.seconds, "entries_per_s": Double(items.count) / max(rebuild.seconds, 1e-9),
                "refused": ledger.refused.count, "waiting": ledger.waiting.count,
                "minted_equals_balances_plus_in_flight": ledger.minted == balances + ledger.inFlight,
            ],
            "one_arriving_transfer": oneArriving,
        ]
        if purchases > 0 || arrivals > 0 {
            guard (0...1_000).contains(purchases) else { throw BenchmarkError("--purchases must be from 0 to 1,000") }
            guard (0...20_000).contains(arrivals) else { throw BenchmarkError("--arrivals must be from 0 to 20,000") }
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("plexus-bench-ledger-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: root) }
            result.merge(try await measureNodes(root: root)) { $1 }
        }
        try printJSON(result)
    }

    /// Three processes: the owner (treasury), a seller and a buyer joined to it.
    ///
    /// Market: the seller offers `purchases` goods of 4 KiB; the buyer buys each in turn,
    /// timed from its request (which waits for the seller's node to claim) to the goods
    /// opened; then the time until the owner's node counts every payment.
    ///
    /// Arrivals: with the buyer's node down, the seller pays the owner 1 token `arrivals`
    /// times; the buyer's node, started again, is timed from its start until its ledger
    /// holds every transfer and the owner's receipts of them.
    private func measureNodes(root: URL) async throws -> [String: Any] {
        let owner = try ServeNode(directory: root.appendingPathComponent("owner"))
        defer { owner.stop() }
        let ownerClient = try await owner.ready()
        let seller = try ServeNode(directory: root.appendingPathComponent("seller"), arguments: ["--peer", owner.meshAddress])
        defer { seller.stop() }
        var buyer = try ServeNode(directory: root.appendingPathComponent("buyer"), arguments: ["--peer", owner.meshAddress])
        defer { buyer.stop() }
        let (sellerClient, buyerClient) = (try await seller.ready(), try await buyer.ready())
        let sellerID = try await sellerClient.identity().agentID
        let buyerID = try await buyerClient.identity().agentID
        let ownerID = try await ownerClient.identity().agentID
        try await until("the owner knows both exchange keys") {
            for id in [sellerID, buyerID] where (try? await ownerClient.agent(id))?.record.exchangeKey == nil { return false }
            return true
        }
        let price: Int64 = 3
        let faucet = price * Int64(purchases) + Int64(arrivals)
        let policy = PolicyRequest(currency: "credits", supplyCap: 10_000_000, faucet: faucet)
        let group = try await ownerClient.createGroup(GroupCreateRequest(name: "market", policy: policy)).id.hex
        _ = try await ownerClient.addMember(group: group, GroupMemberRequest(agent: sellerID))
        _ = try await ownerClient.addMember(group: group, GroupMemberRequest(agent: buyerID))
        try await until("the buyer holds its faucet") {
            (try? await buyerClient.ledger(group: group))?.accounts.first { $0.agent == buyerID }?.balance == faucet
        }
        var result: [String: Any] = ["processes": 3]
        if purchases > 0 {
            result["market"] = try await measureMarket(
                seller: sellerClient, buyer: buyerClient, owner: ownerClient, ids: (sellerID, buyerID), group: group, price: price,
                faucet: faucet)
        }
        if arrivals > 0 {
            buyer.stop()
            let sellerBefore = try await sellerClient.account(group: group, agent: sellerID, limit: 1).balance
            let signing = ContinuousClock.now
            for _ in 0..<arrivals {
                _ = try await sellerClient.transfer(group: group, TransferRequest(to: ownerID, amount: 1))
            }
            let signed = ContinuousClock.now - signing
            let expected = sellerBefore - Int64(arrivals)
            try await until("the owner takes in every transfer", within: .seconds(600)) {
                let ledger = try? await ownerClient.ledger(group: group)
                return ledger?.inFlight == 0 && ledger?.accounts.first { $0.agent == sellerID }?.balance == expected
            }
            let ownerBalance = try await ownerClient.account(group: group, agent: ownerID, limit: 1).balance
            let start = ContinuousClock.now
            buyer = try ServeNode(directory: root.appendingPathComponent("buyer"), arguments: ["--peer", owner.meshAddress])
            let restarted = try await buyer.ready()
            let started = ContinuousClock.now - start
            try await until("the buyer's node holds every transfer and receipt", within: .seconds(600)) {
                let ledger = try? await restarted.ledger(group: group)
                let balances = Dictionary((ledger?.accounts ?? []).map { ($0.agent, $0.balance) }) { $1 }
                return ledger?.inFlight == 0 && balances[sellerID] == expected && balances[ownerID] == ownerBalance
            }
            let took = ContinuousClock.now - start
            result["arrival"] = [
                "transfers": arrivals, "signed_per_s": Double(arrivals) / max(signed.seconds, 1e-9), "node_start_s": started.seconds,
                "taken_in_s": took.seconds, "transfers_per_s_from_arrival": Double(arrivals) / max((took - started).seconds, 1e-9),
            ]
        }
        return result
    }

    /// The market part of `measureNodes`.
    private func measureMarket(
        seller sellerClient: NodeClient, buyer buyerClient: NodeClient, owner ownerClient: NodeClient, ids: (seller: AgentID, buyer: AgentID),
        group: String, price: Int64, faucet: Int64
    ) async throws -> [String: Any] {
        let (sellerID, buyerID) = ids
        var offers: [EntryID] = []
        for n in 0..<purchases {
            let goods = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ n) })
            offers.append(try await sellerClient.createOffer(group: group, OfferCreateRequest(title: "goods \(n)", price: price, content: goods)).id)
        }
        try await until("the buyer sees every offer") {
            let listed = try? await buyerClient.offers(group: group, OfferListRequest(limit: 200))
            let last = try? await buyerClient.offer(offers[purchases - 1])
            return listed?.offers.count == min(purchases, 200) && last != nil
        }
        var samples = LatencySamples()
        let start = ContinuousClock.now
        for offer in offers {
            let begun = ContinuousClock.now
            let purchase = try await buyerClient.buy(offer, BuyRequest(waitS: 60))
            guard purchase.state == "claimed" else { throw BenchmarkError("purchase \(purchase.id.hex.prefix(12)) is \(purchase.state), not claimed") }
            guard try await buyerClient.goods(offer).size == 4096 else { throw BenchmarkError("the goods did not open to 4096 bytes") }
            samples.add(ContinuousClock.now - begun)
        }
        let bought = ContinuousClock.now - start
        try await until("the owner counts every payment") {
            let accounts = (try? await ownerClient.ledger(group: group))?.accounts ?? []
            return accounts.first { $0.agent == buyerID }?.balance == faucet - price * Int64(purchases)
                && accounts.first { $0.agent == sellerID }?.balance == faucet + price * Int64(purchases)
        }
        let settled = ContinuousClock.now - start
        return [
            "purchases": purchases, "goods_bytes": 4096,
            "buy_to_goods_p50_ms": samples.percentile(50), "buy_to_goods_p90_ms": samples.percentile(90),
            "buy_to_goods_max_ms": samples.percentile(100), "purchases_per_s": Double(purchases) / max(bought.seconds, 1e-9),
            "all_settled_on_owner_s": settled.seconds,
        ]
    }

    /// Chain entries as members write them: the treasury mints and funds every account, then
    /// accounts pay each other 100 (fee 1) and take in what they were sent, 16 at a time.
    static func traffic(entries: Int, treasury: AgentID, members: [AgentID], policyID: EntryID) -> [GroupItem] {
        var items: [GroupItem] = []
        items.reserveCapacity(entries)
        var heads: [AgentID: EntryID] = [:]
        var seqs: [AgentID: UInt64] = [:]
        var pending: [AgentID: [EntryID]] = [:]
        func add(_ type: String, by author: AgentID, _ fields: [String: JSONValue]) -> EntryID {
            let seq = (seqs[author] ?? 0) + 1
            seqs[author] = seq
            var content = fields
            content["policy"] = .string(policyID.hex)
            content["prev"] = heads[author].map { .string($0.hex) } ?? .null
            var seed = Array(author.bytes)
            withUnsafeBytes(of: seq.bigEndian) { seed += $0 }
            let id = EntryID(hashing: seed)
            items.append(GroupItem(
                id: id, author: author, seq: seq, timeMs: Int64(items.count), cursor: Int64(items.count + 1), expiresMs: nil,
                inner: GroupInner(type: type, content: .object(content))))
            heads[author] = id
            return id
        }
        _ = add(LedgerEntryType.mint, by: treasury, ["amount": .integer(Int64(members.count) * 1_000_000)])
        for member in members {
            let grant = add(LedgerEntryType.send, by: treasury, ["to": .string(member.hex), "amount": .integer(1_000_000), "fee": .integer(0)])
            _ = add(LedgerEntryType.receive, by: member, ["from": .array([.string(grant.hex)])])
        }
        var random = GossipRandom(seed: 7)
        while items.count < entries {
            let sender = Int(random.next() % UInt64(members.count))
            let offset = 1 + Int(random.next() % UInt64(members.count - 1))
            let (from, to) = (members[sender], members[(sender + offset) % members.count])
            let sent = add(LedgerEntryType.send, by: from, ["to": .string(to.hex), "amount": .integer(100), "fee": .integer(1)])
            pending[to, default: []].append(sent)
            if let waiting = pending[to], waiting.count >= 16, items.count < entries {
                _ = add(LedgerEntryType.receive, by: to, ["from": .array(waiting.map { .string($0.hex) })])
                pending[to] = []
            }
        }
        return items
    }
}
