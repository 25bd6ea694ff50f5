"""Real ``plexus serve`` processes for tests and examples.

:class:`NodeProcess` starts a node on a data directory, on loopback addresses the
operating system picks (``--api 127.0.0.1:0 --listen 127.0.0.1:0``), waits until its
API answers, and stops it again (SIGTERM, then SIGKILL after a timeout). Every wait is
bounded. The binary is the one given, else ``$PLEXUS_BINARY``, else ``plexus`` on the
``PATH``.

>>> with NodeProcess(tmp_path / "a") as a, NodeProcess(tmp_path / "b", peers=[a.mesh_address]) as b:
...     a.client().publish({"text": "hello"})
"""

from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import signal
import subprocess
import threading
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence, TypeVar

import httpx

from ._datadir import API_ADDR_FILE, API_TOKEN_FILE

#: The file `plexus serve` writes its bound mesh address to.
MESH_ADDR_FILE = "mesh.addr"

if TYPE_CHECKING:
    from ._client import AsyncClient
    from ._sync import Client

__all__ = ["NodeProcess", "NodeStartError", "find_binary", "wait_until"]

T = TypeVar("T")

_live: "weakref.WeakSet[NodeProcess]" = weakref.WeakSet()
_live_lock = threading.Lock()


class NodeStartError(RuntimeError):
    """The node did not come up (its log's tail is in the message)."""


def find_binary(binary: str | os.PathLike[str] | None = None, *, wait_s: float = 60.0) -> Path:
    """The ``plexus`` binary: ``binary``, else ``$PLEXUS_BINARY``, else ``plexus`` on the ``PATH``.

    A missing file is waited for up to ``wait_s`` (it may be being rebuilt).
    """
    candidate = binary or os.environ.get("PLEXUS_BINARY") or shutil.which("plexus") or "plexus"
    path = Path(candidate).expanduser()
    deadline = time.monotonic() + wait_s
    while not (path.is_file() and os.access(path, os.X_OK)):
        if time.monotonic() >= deadline:
            raise FileNotFoundError(f"no plexus binary at {path} (set PLEXUS_BINARY)")
        time.sleep(0.5)
    return path


def wait_until(check: Callable[[], T | None], *, timeout: float, interval: float = 0.05, what: str = "condition") -> T:
    """Polls ``check`` until it returns something truthy (returned), or raises ``TimeoutError``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def _load_prctl() -> Callable[..., int] | None:
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
        return prctl
    except (OSError, AttributeError):  # not Linux
        return None


# Resolved in the parent: the child, forked from a threaded process, only calls it.
_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: have Linux send SIGTERM when the parent thread ends."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGTERM))


class NodeProcess:
    """One ``plexus serve`` process on a data directory.

    Args:
        data_dir: the data directory (created if missing).
        binary: the ``plexus`` binary (see :func:`find_binary`).
        peers: mesh addresses to dial (``--peer``).
        args: more ``plexus serve`` arguments.
        env: environment variables added to the node's.
        config: text written to ``DATA/config.yaml`` before the start.
        listen: the mesh address (``127.0.0.1:0``; ``off`` dials out only).
        die_with_parent: on Linux, the node gets SIGTERM when the thread that started it
            ends (so a crashed test run leaves no node behind); start nodes from a thread
            that outlives them, such as the main thread.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        binary: str | os.PathLike[str] | None = None,
        peers: Iterable[str] = (),
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        config: str | None = None,
        listen: str = "127.0.0.1:0",
        die_with_parent: bool = True,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.binary = find_binary(binary)
        self.peers = list(peers)
        self.args = list(args)
        self.env = dict(env or {})
        self.config = config
        self.listen = listen
        self.die_with_parent = die_with_parent
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"
        self._log: object | None = None

    # Lifecycle ------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> NodeProcess:
        """Starts the node and waits until its API answers ``/v1/health`` and, unless
        listening is off, it has written ``mesh.addr``."""
        if self.process is not None and self.process.poll() is None:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for stale in (API_ADDR_FILE, MESH_ADDR_FILE):
            (self.data_dir / stale).unlink(missing_ok=True)
        if self.config is not None:
            (self.data_dir / "config.yaml").write_text(self.config, encoding="utf-8")
        command = [str(self.binary), "serve", "--data", str(self.data_dir), "--api", "127.0.0.1:0", "--listen", self.listen]
        for peer in self.peers:
            command += ["--peer", peer]
        command += self.args
        environment = {**os.environ, **self.env}
        log = self.log_path.open("ab")
        deadline = time.monotonic() + timeout
        for attempt in range(20):
            try:
                self.process = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=environment,
                    preexec_fn=_die_with_parent if self.die_with_parent else None,
                )
                break
            except OSError as error:  # ETXTBSY while the binary is being rewritten
                if attempt == 19 or time.monotonic() >= deadline:
                    log.close()
                    raise NodeStartError(f"cannot start {self.binary}: {error}") from error
                time.sleep(0.5)
        log.close()
        with _live_lock:
            _live.add(self)
        try:
            self._wait_ready(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, deadline: float) -> None:
        assert self.process is not None
        while True:
            if self.process.poll() is not None:
                raise NodeStartError(f"plexus serve exited with {self.process.returncode}:\n{self.log_tail()}")
            address = self._read(API_ADDR_FILE)
            # The API can answer before the mesh listener has recorded its address; a
            # caller that reads `mesh_address` right after start must find it.
            mesh_ready = self.listen == "off" or bool(self._read(MESH_ADDR_FILE))
            if address and self._read(API_TOKEN_FILE) and mesh_ready:
                try:
                    response = httpx.get(f"http://{address}/v1/health", timeout=1.0, trust_env=False)
                    if response.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            if time.monotonic() >= deadline:
                raise NodeStartError(f"plexus serve did not answer in time:\n{self.log_tail()}")
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; returns the exit status."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        with _live_lock:
            _live.discard(self)
        return process.returncode

    def kill(self) -> None:
        """SIGKILL at once (a crash)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def restart(self, timeout: float = 30.0) -> NodeProcess:
        """Stops and starts the node on the same data directory."""
        self.stop()
        return self.start(timeout)

    def __enter__(self) -> NodeProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    # What it wrote ------------------------------------------------------------------------

    def _read(self, name: str) -> str | None:
        try:
            return (self.data_dir / name).read_text(encoding="utf-8").strip() or None
        except OSError:
            return None

    @property
    def api_address(self) -> str:
        """The API's ``host:port``."""
        value = self._read(API_ADDR_FILE)
        if value is None:
            raise NodeStartError("the node has not written api.addr")
        return value

    @property
    def url(self) -> str:
        """The API's base URL."""
        return f"http://{self.api_address}"

    @property
    def token(self) -> str:
        """The API token."""
        value = self._read(API_TOKEN_FILE)
        if value is None:
            raise NodeStartError("the node has no api.token")
        return value

    @property
    def mesh_address(self) -> str:
        """The mesh listener's ``host:port``."""
        value = self._read(MESH_ADDR_FILE)
        if value is None:
            raise NodeStartError("the node has not written mesh.addr (listening off?)")
        return value

    @property
    def agent_id(self) -> str:
        """The node's agent id."""
        response = httpx.get(f"{self.url}/v1/identity", headers={"Authorization": f"Bearer {self.token}"}, timeout=5, trust_env=False)
        return str(response.json()["data"]["agent_id"])

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the node logged."""
        try:
            return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def client(self, **kwargs: object) -> Client:
        """A blocking client of this node (close it when done)."""
        from ._sync import Client as BlockingClient

        return BlockingClient.connect(self.data_dir, **kwargs)  # type: ignore[arg-type]

    async def async_client(self, **kwargs: object) -> AsyncClient:
        """An async client of this node (close it when done)."""
        from ._client import AsyncClient as Async

        return await Async.connect(self.data_dir, **kwargs)  # type: ignore[arg-type]


def _stop_all() -> None:
    with _live_lock:
        nodes = list(_live)
    for node in nodes:
        try:
            node.stop(timeout=5)
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass


atexit.register(_stop_all)


def unblock_stop_signals() -> None:
    """Unblocks SIGTERM and SIGINT in this process, so the processes it starts inherit them
    unblocked: a parent (a test runner, say) may hand down a mask that blocks them, and a
    child that blocks SIGTERM can then not be stopped with it."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
