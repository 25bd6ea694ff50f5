"""The views of the node's API as typed, immutable dataclasses.

Each class mirrors one schema of the OpenAPI document the node serves
(``Sources/PlexusAPI/openapi.json``, ``GET /openapi.json``); its ``__schema__`` names
that schema as a JSON pointer below ``#/components/schemas/`` (or a full pointer for
nested objects). Field names are the JSON property names (``for`` and ``from``, which are
Python keywords, become ``for_`` and ``from_``); properties the schema requires are plain
fields, the others are ``Optional`` and default to ``None``. The test suite checks every
class against the document, so the SDK cannot drift from the node.

Every model keeps the JSON object it was built from in ``raw`` (fields a newer node adds
are there too) and builds from JSON with :meth:`Model.from_json`.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, TypeVar, Union

__all__ = [
    "Model",
    "Entry",
    "EntryPage",
    "SearchHit",
    "SearchResults",
    "StoreStats",
    "MeshCounts",
    "MeshStatus",
    "Status",
    "Identity",
    "SubmitEntryResult",
    "Fork",
    "Deletion",
    "Peer",
    "PeerRemoval",
    "Topic",
    "Follows",
    "SyncSession",
    "Device",
    "Resources",
    "Capabilities",
    "UserCertificate",
    "ExchangeKey",
    "AgentRecord",
    "Contact",
    "Agent",
    "TaskFailure",
    "TaskView",
    "GroupMember",
    "VoidControl",
    "Group",
    "ContextPiece",
    "Context",
    "BoardRefusal",
    "BoardTask",
    "Board",
    "Presence",
    "Policy",
    "LedgerBalance",
    "LedgerRefusal",
    "Ledger",
    "Receivable",
    "Posting",
    "LedgerAccount",
    "Purchase",
    "Offer",
    "OfferList",
    "Goods",
    "RetentionPolicy",
    "RetentionPolicyList",
    "RetentionPolicyRun",
    "RetentionRun",
    "Blob",
    "BlobFetch",
    "BlobList",
    "PanelLogin",
    "DirectMessage",
    "DirectPage",
    "Conversation",
    "ServerEvent",
    "TERMINAL_TASK_STATES",
    "json_name",
]

M = TypeVar("M", bound="Model")

#: Task states after which nothing changes any more.
TERMINAL_TASK_STATES = frozenset({"completed", "failed", "canceled", "rejected"})


def _json(name: str) -> dict[str, str]:
    """Field metadata naming the JSON property when it differs from the field's name."""
    return {"json": name}


def json_name(f: dataclasses.Field[Any]) -> str:
    """The JSON property a dataclass field stands for."""
    return str(f.metadata.get("json", f.name))


@dataclass(frozen=True, kw_only=True)
class Model:
    """Base of every view: built from the node's JSON with :meth:`from_json`."""

    #: The OpenAPI schema this class mirrors (a name under ``#/components/schemas/``,
    #: or a JSON pointer starting with ``#/``).
    __schema__: ClassVar[str] = ""

    #: The JSON object this view was built from (including fields this SDK does not know).
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, metadata={"sdk": True})

    @classmethod
    def from_json(cls: type[M], data: Mapping[str, Any]) -> M:
        """Builds the view from a JSON object as the node sends it."""
        if not isinstance(data, Mapping):
            raise TypeError(f"{cls.__name__} expects a JSON object, got {type(data).__name__}")
        hints = _hints(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.metadata.get("sdk"):
                continue
            name = json_name(f)
            if name in data:
                values[f.name] = _decode(hints[f.name], data[name])
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ValueError(f"{cls.__name__}: the node's reply lacks the required field '{name}'")
        return cls(raw=dict(data), **values)

    def to_json(self) -> dict[str, Any]:
        """The JSON object the view was built from."""
        return dict(self.raw)


_hint_cache: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _hint_cache.get(cls)
    if hints is None:
        hints = typing.get_type_hints(cls)
        _hint_cache[cls] = hints
    return hints


def _decode(tp: Any, value: Any) -> Any:
    """Converts a JSON value to the annotated type (nested models, lists, maps)."""
    if value is None or tp is Any:
        return value
    origin = typing.get_origin(tp)
    if origin is Union or origin is types.UnionType:
        options = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        return _decode(options[0], value) if len(options) == 1 else value
    if origin is list:
        (item,) = typing.get_args(tp)
        return [_decode(item, v) for v in value]
    if origin is dict:
        _, item = typing.get_args(tp)
        return {k: _decode(item, v) for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, Model):
        return tp.from_json(value)
    if tp is float and isinstance(value, int):
        return float(value)
    return value


# MARK: - Entries


@dataclass(frozen=True, kw_only=True)
class Entry(Model):
    """A signed entry of an agent's feed, as stored on this node (``Entry``)."""

    __schema__ = "Entry"

    id: str
    author: str
    seq: int
    prev: str | None = None
    time_ms: int
    type: str
    topic: str
    tags: list[str]
    refs: list[str]
    content: dict[str, Any] | None = None
    content_base64: str | None = None
    expires_ms: int | None = None
    signature: str
    cursor: int
    linked: bool
    received_ms: int
    group: str | None = None
    supersedes: list[str] | None = None
    superseded_by: str | None = None
    retracted_by: str | None = None

    @property
    def text(self) -> str | None:
        """``content["text"]`` when the content has a text string, else ``None``."""
        value = (self.content or {}).get("text")
        return value if isinstance(value, str) else None


@dataclass(frozen=True, kw_only=True)
class EntryPage(Model):
    """A page of entries; continue with ``next_cursor`` (``EntryPage``)."""

    __schema__ = "EntryPage"

    entries: list[Entry]
    next_cursor: int | None = None
    has_more: bool


@dataclass(frozen=True, kw_only=True)
class SearchHit(Model):
    """One search hit: the entry and its rank (BM25, lower is better)."""

    __schema__ = "#/components/schemas/SearchResults/properties/hits/items"

    entry: Entry
    rank: float


@dataclass(frozen=True, kw_only=True)
class SearchResults(Model):
    """Search hits, best first (``SearchResults``)."""

    __schema__ = "SearchResults"

    query: str
    hits: list[SearchHit]

    @property
    def entries(self) -> list[Entry]:
        """The hits' entries, best first."""
        return [hit.entry for hit in self.hits]


@dataclass(frozen=True, kw_only=True)
class SubmitEntryResult(Model):
    """An entry submitted through ``POST /v1/entries``: stored now (``created``) or held already."""

    __schema__ = "SubmitEntryResult"

    entry: Entry
    created: bool


@dataclass(frozen=True, kw_only=True)
class Fork(Model):
    """A fork proof: two entries an author signed at one seq (``Fork``)."""

    __schema__ = "Fork"

    author: str
    seq: int
    held_id: str
    conflicting_id: str
    held_entry: str
    conflicting_entry: str
    detected_ms: int


@dataclass(frozen=True, kw_only=True)
class Deletion(Model):
    """What a delete removed, and the delete requests it published (``Deletion``)."""

    __schema__ = "Deletion"

    deleted: list[str]
    requests: list[str]


# MARK: - Node


@dataclass(frozen=True, kw_only=True)
class StoreStats(Model):
    """Store counts of the node's status."""

    __schema__ = "#/components/schemas/Status/properties/store"

    entries: int | None = None
    authors: int | None = None
    forked_authors: int | None = None
    tombstones: int | None = None
    latest_cursor: int | None = None


@dataclass(frozen=True, kw_only=True)
class MeshCounts(Model):
    """Connection and frame counters of the mesh."""

    __schema__ = "#/components/schemas/Status/properties/mesh/properties/counts"

    handshakes_completed: int | None = None
    connections_accepted: int | None = None
    connections_dialed: int | None = None
    closed: dict[str, int] | None = None
    frames_in: int | None = None
    frames_out: int | None = None
    frames_unconsumed: int | None = None


@dataclass(frozen=True, kw_only=True)
class MeshStatus(Model):
    """The mesh part of the node's status."""

    __schema__ = "#/components/schemas/Status/properties/mesh"

    listen: str | None = None
    peers: int | None = None
    counts: MeshCounts | None = None
    gossip_in: dict[str, int] | None = None
    gossip_dropped: int | None = None
    gossip_out: dict[str, int] | None = None


@dataclass(frozen=True, kw_only=True)
class Status(Model):
    """The node's status (``Status``)."""

    __schema__ = "Status"

    agent_id: str
    version: str
    data_dir: str
    uptime_ms: int
    keys_encrypted: bool
    store: StoreStats
    mesh: MeshStatus | None = None


@dataclass(frozen=True, kw_only=True)
class Identity(Model):
    """The node's agent id and public key (``Identity``)."""

    __schema__ = "Identity"

    agent_id: str
    public_key_hex: str
    public_key_base32: str
    keys_encrypted: bool


# MARK: - Mesh and replication


@dataclass(frozen=True, kw_only=True)
class Peer(Model):
    """A mesh connection, or a remembered peer address (``Peer``)."""

    __schema__ = "Peer"

    agent_id: str | None = None
    address: str
    direction: str
    state: str
    remembered: bool
    connected_ms: int | None = None
    rtt_ms: float | None = None
    bytes_in: int
    bytes_out: int
    frames_in: int
    frames_out: int
    last_connected_ms: int | None = None
    next_dial_ms: int | None = None
    failed_dials: int | None = None
    last_error: str | None = None


@dataclass(frozen=True, kw_only=True)
class PeerRemoval(Model):
    """The outcome of removing a peer (``PeerRemoval``)."""

    __schema__ = "PeerRemoval"

    disconnected: bool
    forgotten: list[str]


@dataclass(frozen=True, kw_only=True)
class Topic(Model):
    """A topic the node is in (``Topic``)."""

    __schema__ = "Topic"

    name: str
    neighbors: list[str]
    reserve: int
    entries: int


@dataclass(frozen=True, kw_only=True)
class Follows(Model):
    """The authors the node stores (``Follows``)."""

    __schema__ = "Follows"

    authors: list[str]
    stores_all: bool


@dataclass(frozen=True, kw_only=True)
class SyncSession(Model):
    """Anti-entropy with one neighbour in one topic (``Sync``)."""

    __schema__ = "Sync"

    peer: str
    topic: str
    rounds: int
    last_round_ms: int | None = None
    entries_received: int
    entries_sent: int
    sending: int
    requested: int
    wants_sent: int
    credit_granted: int
    credit_available: int


# MARK: - Directory


@dataclass(frozen=True, kw_only=True)
class Device(Model):
    """A device an agent announces (``Device``)."""

    __schema__ = "Device"

    type: str
    model: str | None = None
    properties: dict[str, float]


@dataclass(frozen=True, kw_only=True)
class Resources(Model):
    """The machine resources an agent announces."""

    __schema__ = "#/components/schemas/AgentRecord/properties/capabilities/properties/resources"

    cpu_cores: int | None = None
    ram_mb: int | None = None
    devices: list[Device]


@dataclass(frozen=True, kw_only=True)
class Capabilities(Model):
    """What an agent offers: skills (task capabilities), tools and resources."""

    __schema__ = "#/components/schemas/AgentRecord/properties/capabilities"

    skills: list[str]
    tools: list[str]
    resources: Resources


@dataclass(frozen=True, kw_only=True)
class UserCertificate(Model):
    """A user's signed statement that an agent acts for them."""

    __schema__ = "#/components/schemas/AgentRecord/properties/user_certificate"

    user: str
    agent: str
    name: str | None = None
    expires_ms: int
    signature: str


@dataclass(frozen=True, kw_only=True)
class ExchangeKey(Model):
    """An agent's X25519 key and its signature (base64)."""

    __schema__ = "#/components/schemas/AgentRecord/properties/exchange_key"

    public_key: str
    signature: str


@dataclass(frozen=True, kw_only=True)
class AgentRecord(Model):
    """What an agent says about itself (``AgentRecord``)."""

    __schema__ = "AgentRecord"

    addresses: list[str]
    capabilities: Capabilities
    labels: dict[str, str]
    user: str | None = None
    status: str
    interval_s: int
    relays: list[str] | None = None
    user_certificate: UserCertificate | None = None
    exchange_key: ExchangeKey | None = None


@dataclass(frozen=True, kw_only=True)
class Contact(Model):
    """A contact and the trust given to it (``Contact``)."""

    __schema__ = "Contact"

    agent: str
    name: str | None = None
    trust: str
    added_ms: int
    updated_ms: int


@dataclass(frozen=True, kw_only=True)
class Agent(Model):
    """An agent of the directory (``Agent``)."""

    __schema__ = "Agent"

    agent_id: str
    record: AgentRecord
    presence: str
    announced_ms: int
    expires_ms: int | None = None
    record_id: str
    verified_user: str | None = None
    contact: Contact | None = None

    @property
    def skills(self) -> list[str]:
        """The capabilities (skills) the agent offers."""
        return list(self.record.capabilities.skills)


# MARK: - Tasks


@dataclass(frozen=True, kw_only=True)
class TaskFailure(Model):
    """Why a task failed or was rejected."""

    __schema__ = "#/components/schemas/Task/properties/error"

    code: str
    message: str


@dataclass(frozen=True, kw_only=True)
class TaskView(Model):
    """A task as this node sees it, as its caller or its worker (``Task``)."""

    __schema__ = "Task"

    id: str
    role: str
    caller: str
    worker: str | None = None
    capability: str
    state: str
    payload: Any = None
    result: Any = None
    error: TaskFailure | None = None
    message: str | None = None
    created_ms: int
    updated_ms: int
    deadline_ms: int
    lease_expires_ms: int | None = None
    deliveries: int | None = None

    @property
    def is_terminal(self) -> bool:
        """Whether the task is over (completed, failed, canceled or rejected)."""
        return self.state in TERMINAL_TASK_STATES


# MARK: - Groups


@dataclass(frozen=True, kw_only=True)
class GroupMember(Model):
    """A member of a group and its role."""

    __schema__ = "#/components/schemas/Group/properties/members/items"

    agent: str
    role: str


@dataclass(frozen=True, kw_only=True)
class VoidControl(Model):
    """A control entry of a group that does not count, and why."""

    __schema__ = "#/components/schemas/Group/properties/void_controls/items"

    id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class Group(Model):
    """A private group (``Group``)."""

    __schema__ = "Group"

    id: str
    name: str
    topic: str
    role: str | None = None
    members: list[GroupMember]
    epoch: str | None = None
    needs_rekey: bool
    entries: int
    pending_controls: int
    void_controls: list[VoidControl]


@dataclass(frozen=True, kw_only=True)
class ContextPiece(Model):
    """One entry packed into a compiled context."""

    __schema__ = "#/components/schemas/Context/properties/pieces/items"

    reason: str
    tokens: int
    score: float
    entry: Entry


@dataclass(frozen=True, kw_only=True)
class Context(Model):
    """A group's knowledge for a query within a token budget (``Context``)."""

    __schema__ = "Context"

    query: str
    text: str
    tokens: int
    budget: int
    candidates: int
    omitted: int
    pieces: list[ContextPiece]


@dataclass(frozen=True, kw_only=True)
class BoardRefusal(Model):
    """A board entry that was refused, and why."""

    __schema__ = "#/components/schemas/Board/properties/refused/items"

    id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class BoardTask(Model):
    """A task on a group's board (``BoardTask``)."""

    __schema__ = "BoardTask"

    id: str
    creator: str
    title: str
    body: str | None = None
    assignee: str | None = None
    state: str
    result: str | None = None
    reason: str | None = None
    reward: int | None = None
    arbiter: str | None = None
    dispute: str | None = None
    ruling: str | None = None
    escrow: str | None = None
    payee: str | None = None
    created_ms: int
    updated_ms: int
    history: list[str]


@dataclass(frozen=True, kw_only=True)
class Board(Model):
    """A group's task board (``Board``)."""

    __schema__ = "Board"

    tasks: list[BoardTask]
    refused: list[BoardRefusal]


@dataclass(frozen=True, kw_only=True)
class Presence(Model):
    """A member's presence in a group (``Presence``)."""

    __schema__ = "Presence"

    agent: str
    status: str
    text: str | None = None
    note: dict[str, Any] | None = None
    time_ms: int
    expires_ms: int
    stale: bool


# MARK: - Ledger and market


@dataclass(frozen=True, kw_only=True)
class Policy(Model):
    """A group ledger's policy (``Policy``)."""

    __schema__ = "Policy"

    id: str
    currency: str
    supply_cap: int
    treasury: str
    faucet: int
    claim_reward: int
    claim_reward_daily_limit: int
    fee_basis_points: int
    balance_cap: int | None = None


@dataclass(frozen=True, kw_only=True)
class LedgerBalance(Model):
    """One account's balance in the ledger."""

    __schema__ = "#/components/schemas/Ledger/properties/accounts/items"

    agent: str
    balance: int
    receivable: int
    frozen_from: int | None = None


@dataclass(frozen=True, kw_only=True)
class LedgerRefusal(Model):
    """A ledger entry that was refused, and why."""

    __schema__ = "#/components/schemas/Ledger/properties/refused/items"

    id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class Ledger(Model):
    """A group's token ledger (``Ledger``)."""

    __schema__ = "Ledger"

    group: str
    policy: Policy | None = None
    minted: int
    in_flight: int
    accounts: list[LedgerBalance]
    refused: list[LedgerRefusal]
    waiting: int


@dataclass(frozen=True, kw_only=True)
class Receivable(Model):
    """Tokens sent to an account and not yet taken in."""

    __schema__ = "#/components/schemas/LedgerAccount/properties/receivable/items"

    from_: str = field(metadata=_json("from"))
    amount: int


@dataclass(frozen=True, kw_only=True)
class Posting(Model):
    """One move of an account chain (``Posting``)."""

    __schema__ = "Posting"

    id: str
    author: str
    kind: str
    delta: int
    balance: int
    time_ms: int
    to: str | None = None
    amount: int | None = None
    fee: int | None = None
    memo: str | None = None
    for_: str | None = field(default=None, metadata=_json("for"))
    received: list[str] | None = None


@dataclass(frozen=True, kw_only=True)
class LedgerAccount(Model):
    """One account: balance, what it may take in, postings (``LedgerAccount``)."""

    __schema__ = "LedgerAccount"

    agent: str
    balance: int
    frozen_from: int | None = None
    receivable: list[Receivable]
    postings: list[Posting]


@dataclass(frozen=True, kw_only=True)
class Purchase(Model):
    """A purchase of an offer (``Purchase``)."""

    __schema__ = "Purchase"

    id: str
    offer: str
    buyer: str
    seller: str
    price: int
    state: str
    deadline_ms: int
    created_ms: int
    claim: str | None = None
    voided: list[str]
    refund: str | None = None


@dataclass(frozen=True, kw_only=True)
class Offer(Model):
    """An offer of the knowledge market (``Offer``)."""

    __schema__ = "Offer"

    id: str
    group: str
    seller: str
    title: str
    description: str | None = None
    tags: list[str]
    price: int
    name: str | None = None
    media_type: str | None = None
    size: int
    created_ms: int
    withdrawn: bool
    sales: int
    readable: bool
    purchases: list[Purchase]


@dataclass(frozen=True, kw_only=True)
class OfferList(Model):
    """A group's offers (``OfferList``)."""

    __schema__ = "OfferList"

    offers: list[Offer]


@dataclass(frozen=True, kw_only=True)
class Goods(Model):
    """The goods of an offer, base64 in ``content`` (``Goods``)."""

    __schema__ = "Goods"

    offer: str
    name: str | None = None
    media_type: str | None = None
    size: int
    content: str

    @property
    def data(self) -> bytes:
        """The goods' bytes."""
        return base64.b64decode(self.content)


# MARK: - Retention


@dataclass(frozen=True, kw_only=True)
class RetentionPolicy(Model):
    """A retention policy (``RetentionPolicy``)."""

    __schema__ = "RetentionPolicy"

    id: str
    scope: str
    topic: str | None = None
    author: str | None = None
    max_age_s: int | None = None
    max_count: int | None = None
    compact_key: str | None = None
    source: str
    created_ms: int | None = None


@dataclass(frozen=True, kw_only=True)
class RetentionPolicyList(Model):
    """The retention policies in force (``RetentionPolicyList``)."""

    __schema__ = "RetentionPolicyList"

    policies: list[RetentionPolicy]
    interval_s: int
    tombstone_max_age_s: int


@dataclass(frozen=True, kw_only=True)
class RetentionPolicyRun(Model):
    """What one policy removed in a sweep."""

    __schema__ = "#/components/schemas/RetentionRun/properties/policies/items"

    id: str
    removed: int


@dataclass(frozen=True, kw_only=True)
class RetentionRun(Model):
    """The outcome of a retention sweep (``RetentionRun``)."""

    __schema__ = "RetentionRun"

    removed: int
    policies: list[RetentionPolicyRun]
    collapsed: int
    blobs_collected: int
    blob_bytes_collected: int
    took_ms: int


# MARK: - Blobs


@dataclass(frozen=True, kw_only=True)
class Blob(Model):
    """A blob held by the node (``Blob``); its id is the SHA-256 of its bytes."""

    __schema__ = "Blob"

    id: str
    size: int
    pinned: bool
    references: int
    chunk_size: int
    added_ms: int
    used_ms: int


@dataclass(frozen=True, kw_only=True)
class BlobFetch(Model):
    """A blob fetch in progress (``BlobFetch``)."""

    __schema__ = "BlobFetch"

    id: str
    fetched_bytes: int
    size: int | None = None
    sources: int


@dataclass(frozen=True, kw_only=True)
class BlobList(Model):
    """The blobs held, the quota and the fetches in progress (``BlobList``)."""

    __schema__ = "BlobList"

    blobs: list[Blob]
    used_bytes: int
    count: int
    quota_bytes: int
    max_blob_bytes: int
    fetching: list[BlobFetch]


# MARK: - Panel


@dataclass(frozen=True, kw_only=True)
class PanelLogin(Model):
    """A one-time login link for the web panel (``PanelLogin``)."""

    __schema__ = "PanelLogin"

    path: str
    expires_ms: int


# MARK: - Direct messages


@dataclass(frozen=True, kw_only=True)
class DirectMessage(Model):
    """A direct message sent or received (``DirectMessage``)."""

    __schema__ = "DirectMessage"

    id: str
    peer: str
    direction: str
    content: dict[str, Any] | None = None
    time_ms: int
    received_ms: int
    state: str
    read_ms: int | None = None
    attempts: int | None = None
    expires_ms: int | None = None
    last_error: str | None = None
    seq: int


@dataclass(frozen=True, kw_only=True)
class DirectPage(Model):
    """A page of direct messages (``DirectPage``)."""

    __schema__ = "DirectPage"

    messages: list[DirectMessage]
    next_seq: int | None = None
    has_more: bool


@dataclass(frozen=True, kw_only=True)
class Conversation(Model):
    """Direct messages with one agent, summed up (``Conversation``)."""

    __schema__ = "Conversation"

    peer: str
    messages: int
    unread: int
    last: DirectMessage


# MARK: - Events


@dataclass(frozen=True, kw_only=True)
class ServerEvent(Model):
    """One server-sent event of ``GET /v1/events`` (an entry) or ``GET /v1/dms/events`` (a message).

    ``id`` is the resume point (the entry's cursor, or the message's seq), ``event`` the
    event's name (``entry`` or ``dm``), ``data`` its JSON text.
    """

    __schema__ = "#/paths/~1v1~1events/get/responses/200/content/text~1event-stream/schema/oneOf/0"

    event: str
    id: str
    data: str
    retry: int | None = None

    @property
    def cursor(self) -> int:
        """The event id as a number (an entry's cursor, a message's seq)."""
        return int(self.id)

    def json(self) -> Any:
        """The event's data, parsed."""
        return json.loads(self.data)

    @property
    def entry(self) -> Entry:
        """The entry of an ``entry`` event."""
        return Entry.from_json(self.json())

    @property
    def message(self) -> DirectMessage:
        """The direct message of a ``dm`` event."""
        return DirectMessage.from_json(self.json())
