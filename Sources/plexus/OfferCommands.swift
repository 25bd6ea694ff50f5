import ArgumentParser
import Foundation
import PlexusClient
import PlexusCore

struct OffersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offers", abstract: "A group's market: its offers, newest first, or those matching a query.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The group's id or name.")
    var group: String

    @Argument(help: "Words to search for in titles, descriptions, names and tags.")
    var query: String?

    @Flag(name: .long, help: "Also offers their sellers withdrew.")
    var withdrawn = false

    @Option(name: .long, help: "Most offers shown (1-200, default 50).")
    var limit: Int?

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let list = try await global.client().offers(
                group: group, OfferListRequest(query: query, includeWithdrawn: withdrawn, limit: limit))
            if global.json { return Output.printJSON(list) }
            if list.offers.isEmpty { print(query == nil ? "no offers" : "no offers match") }
            for offer in list.offers { print(describe(offer)) }
        }
    }
}

struct OfferCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offer", abstract: "Sell and buy knowledge in a group: create, show, buy, goods, withdraw.",
        subcommands: [OfferCreateCommand.self, OfferShowCommand.self, OfferBuyCommand.self, OfferGoodsCommand.self, OfferWithdrawCommand.self])
}

struct OfferCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Offer a file for sale; only buyers whose payment this node claims learn the key to it.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The group's id or name.")
    var group: String

    @Argument(help: "The goods: a file (over 40 KiB: sold sealed as a blob), or - for standard input (at most 40 KiB).")
    var file: String

    @Option(name: .long, help: "What is sold.")
    var title: String

    @Option(name: .long, help: "Whole tokens of the group's currency.")
    var price: Int64

    @Option(name: .long, help: "More about it, for buyers deciding.")
    var description: String?

    @Option(name: .customLong("tag"), help: "A label buyers search by (repeatable).")
    var tags: [String] = []

    @Option(name: .long, help: "The goods' file name (default: the file's).")
    var name: String?

    @Option(name: .customLong("media-type"), help: "The goods' media type, e.g. text/markdown.")
    var mediaType: String?

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let client = try await global.client()
            var goods: Data?
            var blob: BlobID?
            if file == "-" {
                goods = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.intValue ?? 0
                if size > MarketLimits.maxGoodsBytes {
                    blob = try await client.putBlob(file: URL(fileURLWithPath: file), pin: false).id
                } else {
                    guard let data = FileManager.default.contents(atPath: file) else {
                        throw PlexusError(.invalidArgument, "cannot read \(file)")
                    }
                    goods = data
                }
            }
            let offer = try await client.createOffer(
                group: group,
                OfferCreateRequest(
                    title: title, description: description, tags: tags.isEmpty ? nil : tags, price: price,
                    name: name ?? (file == "-" ? nil : URL(fileURLWithPath: file).lastPathComponent), mediaType: mediaType, content: goods,
                    blob: blob))
            if global.json { Output.printJSON(offer) } else { print(describe(offer)) }
        }
    }
}

struct OfferShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "One offer, with the purchases this agent takes part in.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The offer's id.")
    var offer: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let view = try await global.client().offer(try EntryID.parse(offer))
            if global.json { return Output.printJSON(view) }
            print(describe(view))
            for purchase in view.purchases { print("  " + describe(purchase)) }
        }
    }
}

struct OfferBuyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "buy",
        abstract: "Buy an offer: lock its price until the seller's node claims it (revealing the key), then write the goods out.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The offer's id.")
    var offer: String

    @Option(name: .shortAndLong, help: "Write the goods to this file (default: standard output).")
    var output: String?

    @Option(name: .long, help: "Seconds the seller has to claim before this node takes the price back (default 3600).")
    var deadline: Int64?

    @Option(name: .long, help: "Seconds to wait for the seller's claim (0-300).")
    var wait: Int = 60

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let client = try await global.client()
            let id = try EntryID.parse(offer)
            let purchase = try await client.buy(id, BuyRequest(deadlineS: deadline, waitS: wait))
            guard purchase.state == "claimed" else {
                if global.json { Output.printJSON(purchase) }
                throw PlexusError(
                    .timeout,
                    "purchase \(purchase.id.hex.prefix(12)) is \(purchase.state): the seller has not claimed it yet; read the goods later with plexus offer goods \(id.hex)")
            }
            try await OfferGoodsCommand.write(try await client.goods(id), to: output, json: global.json, client: client)
        }
    }
}

struct OfferGoodsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "goods", abstract: "Write out the goods of an offer this agent sells or bought.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The offer's id.")
    var offer: String

    @Option(name: .shortAndLong, help: "Write the goods to this file (default: standard output).")
    var output: String?

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let client = try await global.client()
            try await Self.write(try await client.goods(try EntryID.parse(offer)), to: output, json: global.json, client: client)
        }
    }

    /// Writes the goods to `path` (0600) or standard output; with --json, the goods view.
    /// Goods sold as a sealed blob are fetched (from the seller first) and opened.
    static func write(_ goods: GoodsView, to path: String?, json: Bool, client: NodeClient) async throws {
        guard let bytes = goods.bytes else { throw PlexusError(.internal, "the node sent goods that are not base64") }
        if goods.mediaType == MarketLimits.blobGoodsMediaType, let reference = BlobReference(in: try? JSONValue(parsing: bytes)) {
            let seller = try await client.offer(goods.offer).seller
            _ = try await client.fetchBlob(reference.id, BlobFetchRequest(from: [seller], waitMs: 600_000, pin: true))
            if let path {
                guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                    throw PlexusError(.invalidArgument, "cannot write \(path)")
                }
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
                defer { try? handle.close() }
                let written = try await client.readBlob(reference.id, offer: goods.offer) { try handle.write(contentsOf: $0) }
                if json { Output.printJSON(goods) } else { Output.printError("wrote \(written) bytes to \(path)") }
            } else {
                try await client.readBlob(reference.id, offer: goods.offer) { FileHandle.standardOutput.write($0) }
            }
            return
        }
        if let path {
            guard FileManager.default.createFile(atPath: path, contents: bytes, attributes: [.posixPermissions: 0o600]) else {
                throw PlexusError(.invalidArgument, "cannot write \(path)")
            }
            if json { Output.printJSON(goods) } else { Output.printError("wrote \(bytes.count) bytes to \(path)") }
        } else if json {
            Output.printJSON(goods)
        } else {
            FileHandle.standardOutput.write(bytes)
        }
    }
}

struct OfferWithdrawCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "withdraw", abstract: "Withdraw one of this agent's offers (purchases already made are still served).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The offer's id.")
    var offer: String

    func run() async throws {
        try await reportingErrors(json: global.json) {
            let view = try await global.client().withdraw(try EntryID.parse(offer))
            if global.json { Output.printJSON(view) } else { print(describe(view)) }
        }
    }
}

private func describe(_ offer: OfferView) -> String {
    var line = "\(offer.id.hex)  \(offer.price)  \(offer.title)"
    if offer.withdrawn { line += "  (withdrawn)" }
    line += "\n  by \(offer.seller.short), \(offer.size) bytes\(offer.name.map { " (\($0))" } ?? ""), \(offer.sales) sold"
    if !offer.tags.isEmpty { line += ", #" + offer.tags.joined(separator: " #") }
    if offer.readable { line += ", readable here" }
    if let description = offer.description { line += "\n  \(description)" }
    return line
}

private func describe(_ purchase: PurchaseView) -> String {
    "purchase \(purchase.id.hex.prefix(12)) by \(purchase.buyer.short): \(purchase.price), \(purchase.state)"
}
