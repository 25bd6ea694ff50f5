"""Typed errors of the Plexus SDK.

Every failure the node reports comes back in the JSON envelope
``{"ok": false, "error": {"code": ..., "message": ...}}``. The SDK raises the
:class:`PlexusError` subclass registered for that ``code`` (``NotFound`` for
``notFound``, ``NoRoute`` for ``noRoute``, ...), carrying the code, the message and
the HTTP status. A code this SDK does not know yet raises a plain :class:`PlexusError`
with that code, so newer nodes never break older clients.

Failures on the client's side use the same codes as the node's own Swift client:
``nodeNotRunning`` when nothing answers at the API address and ``timeout`` when the
node took a request but did not answer in time.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "PlexusError",
    "error_for",
    "ERROR_CLASSES",
    "InvalidArgument",
    "InvalidJSON",
    "InvalidContent",
    "TooLarge",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "MethodNotAllowed",
    "UnsupportedMediaType",
    "RangeNotSatisfiable",
    "MalformedEntry",
    "BadSignature",
    "MalformedEnvelope",
    "NotMember",
    "ForkDetected",
    "AuthorForked",
    "Tombstoned",
    "KeyFileCorrupt",
    "WrongPassphrase",
    "IdentityExists",
    "NoIdentity",
    "InvalidConfig",
    "NodeNotRunning",
    "PeerUnreachable",
    "HandshakeFailed",
    "Overloaded",
    "NoRoute",
    "Timeout",
    "Rejected",
    "ContractViolation",
    "SecurityError",
    "ResourceExhausted",
    "DependencyError",
    "InternalError",
]


class PlexusError(Exception):
    """An error reported by a Plexus node (or by the SDK on its behalf).

    Attributes:
        code: the stable machine-readable code (``"notFound"``, ``"noRoute"``, ...).
        message: the human-readable explanation.
        status: the HTTP status of the reply, or ``None`` when no reply came.
    """

    #: The error code a subclass stands for; ``""`` on the base class.
    CODE: ClassVar[str] = ""

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code: str = code or self.CODE or "internal"
        self.message: str = message
        self.status: int | None = status

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, status={self.status!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.code, self.status))


def _rebuild(cls: type[PlexusError], message: str, code: str, status: int | None) -> PlexusError:
    return cls(message, code=code, status=status)


class InvalidArgument(PlexusError):
    """A request argument is missing or malformed (HTTP 400)."""

    CODE = "invalidArgument"


class InvalidJSON(PlexusError):
    """A request body is not valid JSON, or has fields of the wrong type (HTTP 400)."""

    CODE = "invalidJSON"


class InvalidContent(PlexusError):
    """Entry content is not a JSON object, or a request is refused for what it says (HTTP 422)."""

    CODE = "invalidContent"


class TooLarge(PlexusError):
    """A body, entry or field exceeds its size limit (HTTP 413)."""

    CODE = "tooLarge"


class Unauthorized(PlexusError):
    """Missing or wrong API token (HTTP 401)."""

    CODE = "unauthorized"


class Forbidden(PlexusError):
    """Not allowed: another author's entry, a group role, an origin (HTTP 403)."""

    CODE = "forbidden"


class NotFound(PlexusError):
    """No such entry, task, agent, route or resource (HTTP 404)."""

    CODE = "notFound"


class MethodNotAllowed(PlexusError):
    """The route exists, but not for this HTTP method (HTTP 405)."""

    CODE = "methodNotAllowed"


class UnsupportedMediaType(PlexusError):
    """The request's content type is not the one the route takes (HTTP 415)."""

    CODE = "unsupportedMediaType"


class RangeNotSatisfiable(PlexusError):
    """A byte range outside the blob (HTTP 416)."""

    CODE = "rangeNotSatisfiable"


class MalformedEntry(PlexusError):
    """An entry failed to decode or has impossible fields (HTTP 422)."""

    CODE = "malformedEntry"


class BadSignature(PlexusError):
    """An entry's signature does not verify (HTTP 422)."""

    CODE = "badSignature"


class MalformedEnvelope(PlexusError):
    """A group envelope or sealed key does not open (HTTP 422)."""

    CODE = "malformedEnvelope"


class NotMember(PlexusError):
    """An entry of a group from an agent that may not write there (HTTP 403)."""

    CODE = "notMember"


class ForkDetected(PlexusError):
    """The author signed two different entries at one seq (HTTP 409)."""

    CODE = "forkDetected"


class AuthorForked(PlexusError):
    """The author is known to have forked its feed (HTTP 409)."""

    CODE = "authorForked"


class Tombstoned(PlexusError):
    """The entry was deleted or expired and is not accepted again (HTTP 410)."""

    CODE = "tombstoned"


class KeyFileCorrupt(PlexusError):
    """The identity key file cannot be read (HTTP 500)."""

    CODE = "keyFileCorrupt"


class WrongPassphrase(PlexusError):
    """The passphrase does not open the sealed identity key (HTTP 401)."""

    CODE = "wrongPassphrase"


class IdentityExists(PlexusError):
    """An identity already exists (HTTP 409)."""

    CODE = "identityExists"


class NoIdentity(PlexusError):
    """No identity or API token in the data directory."""

    CODE = "noIdentity"


class InvalidConfig(PlexusError):
    """The configuration is invalid (HTTP 500)."""

    CODE = "invalidConfig"


class NodeNotRunning(PlexusError):
    """The node is not running or cannot be reached (also raised by the SDK itself)."""

    CODE = "nodeNotRunning"


class PeerUnreachable(PlexusError):
    """A mesh peer (or a task's worker) could not be reached (HTTP 502)."""

    CODE = "peerUnreachable"


class HandshakeFailed(PlexusError):
    """A mesh peer was reached but the handshake failed (HTTP 502)."""

    CODE = "handshakeFailed"


class Overloaded(PlexusError):
    """The node is at a capacity limit; retry shortly (HTTP 503)."""

    CODE = "overloaded"


class NoRoute(PlexusError):
    """No known agent can take the task (HTTP 404)."""

    CODE = "noRoute"


class Timeout(PlexusError):
    """A deadline passed: a task's, or the client's wait for a reply (HTTP 504)."""

    CODE = "timeout"


class Rejected(PlexusError):
    """The worker refused the task (HTTP 409)."""

    CODE = "rejected"


class ContractViolation(PlexusError):
    """A task or result broke the protocol's rules (HTTP 409)."""

    CODE = "contractViolation"


class SecurityError(PlexusError):
    """A task failed a security check (HTTP 403)."""

    CODE = "securityError"


class ResourceExhausted(PlexusError):
    """No room: the worker's queue, the blob quota, the outbox (HTTP 503)."""

    CODE = "resourceExhausted"


class DependencyError(PlexusError):
    """Something the node or worker depends on failed (HTTP 502)."""

    CODE = "dependencyError"


class InternalError(PlexusError):
    """A storage or other internal failure of the node (HTTP 500)."""

    CODE = "internal"


#: Every error class by the code it stands for.
ERROR_CLASSES: dict[str, type[PlexusError]] = {
    cls.CODE: cls
    for cls in (
        InvalidArgument,
        InvalidJSON,
        InvalidContent,
        TooLarge,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        UnsupportedMediaType,
        RangeNotSatisfiable,
        MalformedEntry,
        BadSignature,
        MalformedEnvelope,
        NotMember,
        ForkDetected,
        AuthorForked,
        Tombstoned,
        KeyFileCorrupt,
        WrongPassphrase,
        IdentityExists,
        NoIdentity,
        InvalidConfig,
        NodeNotRunning,
        PeerUnreachable,
        HandshakeFailed,
        Overloaded,
        NoRoute,
        Timeout,
        Rejected,
        ContractViolation,
        SecurityError,
        ResourceExhausted,
        DependencyError,
        InternalError,
    )
}


def error_for(code: str, message: str, status: int | None = None) -> PlexusError:
    """The typed error for ``code``: its registered subclass, else a plain :class:`PlexusError`."""
    cls = ERROR_CLASSES.get(code, PlexusError)
    return cls(message, code=code, status=status)
