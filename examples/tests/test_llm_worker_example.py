"""examples/llm_worker: a worker on node B answers ``chat`` tasks sent from node A.

The LLM is the stand-in endpoint of conftest.py (a tiny OpenAI-compatible server on
127.0.0.1), because no real endpoint can be reached here; the worker is the example's
script, run as its own process exactly as the README shows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

import plexus
from plexus.testing import NodeProcess, wait_until

SCRIPT = Path(__file__).resolve().parents[1] / "llm_worker" / "llm_worker.py"
StandInLLM = Any  # conftest.StandInLLM, through the ``llm`` fixture


@pytest.fixture
def worker(pair: tuple[NodeProcess, NodeProcess], llm: StandInLLM, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    _, b = pair
    log = (tmp_path / "llm_worker.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--data", str(b.data_dir), "--poll-ms", "1000", "--concurrency", "2"],
        env={**os.environ, **llm.env()},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        log.close()
        print((tmp_path / "llm_worker.log").read_text(errors="replace")[-3000:])


def test_llm_worker_answers_chat_tasks(pair: tuple[NodeProcess, NodeProcess], llm: StandInLLM, worker: subprocess.Popen[bytes]) -> None:
    a, b = pair
    with plexus.connect(data=a.data_dir) as caller:
        wait_until(lambda: caller.find_agents("chat"), timeout=20, what="the worker's 'chat' capability")

        task = caller.send_task("chat", {"messages": [{"role": "user", "content": "What is WAL mode?"}]}, wait_ms=20_000)
        assert task.state == "completed", task
        assert task.result["text"] == "stand-in reply to: What is WAL mode?"
        assert task.result["model"] == "stand-in-model"
        assert task.worker == b.agent_id

        request = llm.requests[-1]
        assert request["path"] == "/v1/chat/completions"
        assert request["headers"]["Authorization"] == "Bearer test-key"
        assert request["body"]["model"] == "stand-in-model"
        assert request["body"]["messages"] == [{"role": "user", "content": "What is WAL mode?"}]

        prompt = caller.send_task("chat", {"prompt": "Say hi", "system": "Be brief", "temperature": 0.1}, wait_ms=20_000)
        assert prompt.result["text"] == "stand-in reply to: Say hi"
        assert llm.requests[-1]["body"]["messages"][0] == {"role": "system", "content": "Be brief"}
        assert llm.requests[-1]["body"]["temperature"] == 0.1

        failing = caller.send_task("chat", "FAIL-500 please", wait_ms=20_000)
        assert failing.state == "failed" and failing.error is not None
        assert failing.error.code == "dependencyError" and "500" in failing.error.message

        invalid = caller.send_task("chat", {"nothing": "to ask"}, wait_ms=20_000)
        assert invalid.state == "failed" and invalid.error is not None and invalid.error.code == "invalidArgument"

    # SIGTERM stops it cleanly.
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(15) == 0
