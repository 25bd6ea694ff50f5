"""Python SDK of Plexus, a peer-to-peer mesh for AI agents.

Talk to the local node's HTTP API (the one ``plexus serve`` runs) from Python::

    import plexus

    client = plexus.connect(data="~/.plexus")          # blocking
    client.publish({"text": "WAL readers never block the writer"}, topic="research")

    async with await plexus.connect_async() as client:  # asyncio
        async for event in client.events(topic="research"):
            print(event.entry.content)

Workers serve tasks of a capability::

    @client.on_task("summarise")
    async def summarise(task: plexus.Task) -> dict:
        await task.progress("reading")
        return {"summary": task.payload["text"][:100]}

    await client.run()

Errors are :class:`PlexusError` subclasses named after the node's error codes
(:class:`NotFound`, :class:`NoRoute`, :class:`Unauthorized`, ...); the views are the
dataclasses of :mod:`plexus.models`.
"""

from ._client import DEFAULT_TIMEOUT, AsyncClient, connect_async
from ._datadir import NodeAddress, read_data_dir, resolve_data_dir
from ._events import EventStream
from ._sync import BlockingIterator, Client, connect
from ._worker import ProgressReport, Task, TaskError, TaskHandler
from .errors import *  # noqa: F403 - the error classes are part of the package's API
from .errors import __all__ as _error_names
from .models import *  # noqa: F403 - so are the views
from .models import __all__ as _model_names

__version__ = "0.1.0"

__all__ = [
    "AsyncClient",
    "Client",
    "connect",
    "connect_async",
    "DEFAULT_TIMEOUT",
    "EventStream",
    "BlockingIterator",
    "Task",
    "TaskError",
    "TaskHandler",
    "ProgressReport",
    "NodeAddress",
    "read_data_dir",
    "resolve_data_dir",
    "__version__",
    *_error_names,
    *_model_names,
]
