"""The group ledger fold of PROTOCOL.md section 14, written from the text alone (not from
the Swift code), for the vectors in vectors/ledger.json.

Entries are dicts {id, author, seq, type, content} with ids and agents as 64 hex digits;
policies a list (in the roster's order) of {id, supply_cap, treasury, fee_basis_points,
balance_cap}; forks {agent: seq}; escrows {task or purchase: payee}.
"""
from market_fold import Malformed as MarketMalformed, purchase as market_purchase

MAX_AMOUNT = 1 << 53
CHAIN_TYPES = {"ledger.mint", "ledger.send", "ledger.receive", "market.buy", "market.claim", "market.refund"}


class Malformed(Exception):
    pass


def is_hex_id(value):
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value.lower())


def amount(content, key, allow_zero=False):
    value = content.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < (0 if allow_zero else 1) or value > MAX_AMOUNT:
        raise Malformed(key)
    return value


def optional_id(content, key):
    value = content.get(key)
    if value is None:
        return None
    if not is_hex_id(value):
        raise Malformed(key)
    return value.lower()


def is_chain_entry(entry):
    if entry["type"] in CHAIN_TYPES:
        return True
    return entry["type"] == "board.create" and entry["content"].get("reward") is not None


def decode(entry):
    content = entry["content"]
    policy = optional_id(content, "policy")
    if policy is None:
        raise Malformed("policy")
    kind = entry["type"]
    if kind == "ledger.mint":
        action = ("mint", amount(content, "amount"))
    elif kind == "ledger.send":
        to = content.get("to")
        if not is_hex_id(to) or to.lower() == entry["author"]:
            raise Malformed("to")
        memo = content.get("memo")
        if isinstance(memo, str) and len(memo.encode()) > 256:
            raise Malformed("memo")
        optional_id(content, "for")
        action = ("send", to.lower(), amount(content, "amount"), amount(content, "fee", allow_zero=True))
    elif kind == "ledger.receive":
        sources = content.get("from")
        if not isinstance(sources, list) or not 1 <= len(sources) <= 256 or not all(is_hex_id(s) for s in sources):
            raise Malformed("from")
        sources = [s.lower() for s in sources]
        if len(set(sources)) != len(sources):
            raise Malformed("from")
        action = ("receive", sources)
    elif kind == "market.buy":
        try:  # only a well-formed purchase locks; the vector's entries carry no time (their deadlines are far from it)
            market_purchase(dict(entry, time_ms=entry.get("time_ms", 0)))
        except MarketMalformed:
            raise Malformed("market.buy")
        action = ("lock", amount(content, "price"))
    elif kind in ("market.claim", "market.refund"):
        settles = optional_id(content, "purchase")
        if settles is None:
            raise Malformed("purchase")
        action = ("receive", [settles])
    else:
        action = ("lock", amount(content, "reward"))
    return {"id": entry["id"], "author": entry["author"], "seq": entry["seq"], "prev": optional_id(content, "prev"),
            "policy": policy, "action": action}


def fold(entries, policies, forks, escrows):
    order = {}
    for index, policy in enumerate(policies):
        order.setdefault(policy["id"], (index, policy))
    refused, balances, receivable, escrowed, minted = {}, {}, {}, {}, 0
    waiting = set()

    # 1-2. Decode; refuse what forked; link each author's chain by prev from the start.
    by_author = {}
    seen = set()
    for entry in entries:
        if not is_chain_entry(entry) or entry["id"] in seen or entry["id"] in refused:
            continue
        try:
            move = decode(entry)
        except Malformed:
            refused[entry["id"]] = "malformed"
            continue
        if move["author"] in forks and move["seq"] >= forks[move["author"]]:
            refused[move["id"]] = "frozen"
            continue
        seen.add(move["id"])
        by_author.setdefault(move["author"], {}).setdefault(move["prev"], []).append(move)
    chains = {}
    for author, children in by_author.items():
        chain, previous = [], None
        while (previous["id"] if previous else None) in children:
            candidates = sorted(children[previous["id"] if previous else None], key=lambda m: bytes.fromhex(m["id"]))
            chosen = None
            for move in candidates:
                if previous and move["seq"] <= previous["seq"]:
                    refused[move["id"]] = "malformed"
                elif chosen:
                    refused[move["id"]] = "chainConflict"
                else:
                    chosen = move
            if not chosen:
                break
            chain.append(chosen)
            previous = chosen
        chains[author] = chain
        placed = {m["id"] for m in chain}
        for moves in children.values():
            for move in moves:
                if move["id"] not in placed and move["id"] not in refused:
                    waiting.add(move["id"])

    # 3. Settle each chain in order, an entry once its policy is known and what it receives
    # from has settled; until nothing more settles.
    settled, cited, positions = set(), {}, {author: 0 for author in chains}

    def blocked(move):
        if move["policy"] not in order:
            return True
        if move["action"][0] == "receive":
            return any(s not in settled and s not in refused for s in move["action"][1])
        return False

    def apply(move):
        nonlocal minted
        index, policy = order[move["policy"]]
        author, treasury = move["author"], policy["treasury"]
        if author in cited and index < cited[author]:
            return "stalePolicy"
        balance, action, delta = balances.get(author, 0), move["action"], 0
        mine = receivable.setdefault(author, {})
        if action[0] == "mint":
            if author != treasury:
                return "notTreasury"
            if action[1] > policy["supply_cap"] - minted:
                return "overCap"
            minted += action[1]
            delta = action[1]
        elif action[0] == "send":
            _, to, value, fee = action
            due = 0 if author == treasury else value * policy["fee_basis_points"] // 10000
            if fee != due:
                return "wrongFee"
            if value + fee > balance:
                return "insufficient"
            delta = -(value + fee)
            receivable.setdefault(to, {})[move["id"]] = receivable.get(to, {}).get(move["id"], 0) + value
            if fee:
                receivable.setdefault(treasury, {})[move["id"]] = receivable.get(treasury, {}).get(move["id"], 0) + fee
        elif action[0] == "receive":
            took = False
            cap = policy.get("balance_cap")
            for source in action[1]:
                if source not in mine:
                    continue
                value = mine[source]
                if author != treasury and cap and balance + delta + value > cap:
                    continue
                delta += value
                del mine[source]
                took = True
            if not took:
                return "notReceivable"
        else:
            value = action[1]
            if value > balance:
                return "insufficient"
            delta = -value
            payee = escrows.get(move["id"])
            if payee:
                receivable.setdefault(payee, {})[move["id"]] = receivable.get(payee, {}).get(move["id"], 0) + value
            else:
                escrowed[move["id"]] = value
        cited[author] = index
        balances[author] = balance + delta
        return None

    progress = True
    while progress:
        progress = False
        for author in sorted(chains):
            chain = chains[author]
            while positions[author] < len(chain) and not blocked(chain[positions[author]]):
                move = chain[positions[author]]
                refusal = apply(move)
                if refusal:
                    refused[move["id"]] = refusal
                settled.add(move["id"])
                positions[author] += 1
                progress = True
    for author, chain in chains.items():
        for move in chain[positions[author]:]:
            waiting.add(move["id"])

    return {
        "minted": minted,
        "balances": {agent: value for agent, value in sorted(balances.items()) if value},
        "receivable": {agent: dict(sorted(items.items())) for agent, items in sorted(receivable.items()) if items},
        "escrowed": dict(sorted(escrowed.items())),
        "refused": dict(sorted(refused.items())),
        "waiting": sorted(waiting),
    }
