#!/usr/bin/env python3
"""A Plexus worker that answers ``chat`` tasks with an LLM behind an OpenAI-compatible API.

Any agent on the mesh can then ask it::

    plexus task send --capability chat '{"messages": [{"role": "user", "content": "What is WAL mode?"}]}'

The payload is ``{"messages": [...]}`` (OpenAI chat messages), ``{"prompt": "..."}`` or a
plain string, optionally with ``"system"``, ``"temperature"`` and ``"max_tokens"``. The
result is ``{"text": ..., "model": ..., "usage": ...}``.

Configuration (environment): ``OPENAI_BASE_URL`` (default ``https://api.openai.com/v1``),
``OPENAI_API_KEY``, ``OPENAI_MODEL`` (default ``gpt-4o-mini``). It POSTs to
``{OPENAI_BASE_URL}/chat/completions``, so any compatible server works (vLLM, llama.cpp's
server, Ollama's ``/v1``, LiteLLM, ...).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from typing import Any

import httpx

import plexus

logger = logging.getLogger("llm_worker")

#: Longest prompt text accepted, in characters (a task payload is at most 64 KiB anyway).
MAX_PROMPT_CHARS = 60_000


def build_messages(payload: Any) -> list[dict[str, str]]:
    """The chat messages a task's payload asks for (``TaskError`` ``invalidArgument`` if none)."""
    if isinstance(payload, str):
        payload = {"prompt": payload}
    if not isinstance(payload, dict):
        raise plexus.TaskError("the payload must be a string or an object with 'messages' or 'prompt'", code="invalidArgument")
    messages: list[dict[str, str]] = []
    if isinstance(payload.get("system"), str):
        messages.append({"role": "system", "content": payload["system"]})
    if isinstance(payload.get("messages"), list):
        for message in payload["messages"]:
            if not (isinstance(message, dict) and isinstance(message.get("content"), str)
                    and message.get("role") in ("system", "user", "assistant")):
                raise plexus.TaskError("each message needs a role (system, user, assistant) and a content string", code="invalidArgument")
            messages.append({"role": message["role"], "content": message["content"]})
    elif isinstance(payload.get("prompt"), str):
        messages.append({"role": "user", "content": payload["prompt"]})
    if not any(m["role"] == "user" for m in messages):
        raise plexus.TaskError("no user message: give 'messages' or 'prompt'", code="invalidArgument")
    if sum(len(m["content"]) for m in messages) > MAX_PROMPT_CHARS:
        raise plexus.TaskError(f"the prompt is longer than {MAX_PROMPT_CHARS} characters", code="tooLarge")
    return messages


class ChatModel:
    """An OpenAI-compatible chat completions endpoint."""

    def __init__(self, base_url: str, api_key: str | None, model: str, *, timeout: float = 120.0) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.AsyncClient(headers=headers, timeout=timeout)

    async def complete(self, messages: list[dict[str, str]], **options: Any) -> dict[str, Any]:
        """One completion: ``{"text", "model", "usage"}``; failures are ``dependencyError``."""
        body: dict[str, Any] = {"model": self.model, "messages": messages}
        body.update({k: v for k, v in options.items() if v is not None})
        try:
            response = await self.http.post(self.url, json=body)
        except httpx.HTTPError as error:
            raise plexus.TaskError(f"the model endpoint is unreachable: {error}") from error
        if response.status_code != 200:
            raise plexus.TaskError(f"the model endpoint answered {response.status_code}: {response.text[:300]}")
        try:
            data = response.json()
            text = data["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise plexus.TaskError(f"unexpected reply from the model endpoint: {response.text[:300]}") from error
        return {"text": text, "model": data.get("model", self.model), "usage": data.get("usage")}

    async def aclose(self) -> None:
        await self.http.aclose()


async def serve(args: argparse.Namespace) -> None:
    model = ChatModel(
        os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1"),
        os.environ.get("OPENAI_API_KEY"),
        os.environ.get("OPENAI_MODEL", "gpt-4o-mini"),
    )
    client = await plexus.connect_async(data=args.data)

    @client.on_task(args.capability, concurrency=args.concurrency, poll_ms=args.poll_ms)
    async def chat(task: plexus.Task) -> dict[str, Any]:
        messages = build_messages(task.payload)
        options = task.payload if isinstance(task.payload, dict) else {}
        await task.progress(f"asking {model.model}")
        return await model.complete(
            messages, temperature=options.get("temperature"), max_tokens=options.get("max_tokens")
        )

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, client.stop)
    logger.info("serving '%s' with %s at %s", args.capability, model.model, model.url)
    try:
        await client.run(max_tasks=args.max_tasks)
    finally:
        await model.aclose()
        await client.aclose()
    logger.info("stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="the node's data directory (default: $PLEXUS_HOME or ~/.plexus)")
    parser.add_argument("--capability", default="chat", help="the capability to serve (default: chat)")
    parser.add_argument("--concurrency", type=int, default=4, help="tasks answered at once (default: 4)")
    parser.add_argument("--poll-ms", type=int, default=10_000, help="long-poll for tasks this long (default: 10000)")
    parser.add_argument("--max-tasks", type=int, default=None, help="stop after this many tasks")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
