"""Drives a Plexus node's A2A gateway with the official A2A Python SDK (`a2a-sdk` 1.x from
PyPI) and with raw JSON-RPC over httpx, and prints one JSON object of what it saw.

Usage: a2a_client.py BASE_URL TOKEN FAST_SKILL SLOW_SKILL OTHER_TASK_ID

FAST_SKILL tasks are answered by a worker that reports progress and then echoes; SLOW_SKILL
tasks by one that reports progress and waits until the task is canceled. OTHER_TASK_ID is a
task sent through the node's own API, not through the gateway.
"""
import asyncio
import json
import sys
import uuid

import httpx
from a2a.client import A2ACardResolver, A2AClientError, ClientConfig, ClientFactory
from a2a.types import CancelTaskRequest, GetTaskRequest, Message, Part, Role, SendMessageConfiguration, SendMessageRequest, SubscribeToTaskRequest, TaskState
from a2a.utils.errors import TaskNotFoundError
from google.protobuf.json_format import MessageToDict
from google.protobuf.struct_pb2 import Struct


def request(text, skill=None, polling=False):
    metadata = Struct()
    if skill:
        metadata.update({"skill": skill})
    return SendMessageRequest(
        message=Message(role=Role.ROLE_USER, message_id=str(uuid.uuid4()), parts=[Part(text=text)]),
        configuration=SendMessageConfiguration(accepted_output_modes=["text/plain"], return_immediately=polling),
        metadata=metadata)


def state_name(state):
    return TaskState.Name(state)


async def raw(http, base, body, version="1.0", token=True, content=None):
    headers = {"Content-Type": "application/json"}
    if version is not None:
        headers["A2A-Version"] = version
    if not token:
        headers["Authorization"] = ""
    response = await http.post(base + "/", content=content if content is not None else json.dumps(body), headers=headers)
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    return response.status_code, parsed


def rpc(method, params, id_="x"):
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params}


async def main(base, token, fast, slow, other):
    out = {}
    http = httpx.AsyncClient(headers={"Authorization": "Bearer " + token}, timeout=60)
    card = await A2ACardResolver(http, base).get_agent_card()
    card_json = MessageToDict(card)
    out["card"] = {
        "skills": sorted(skill["id"] for skill in card_json.get("skills", [])),
        "interfaces": card_json.get("supportedInterfaces", []),
        "streaming": card_json.get("capabilities", {}).get("streaming", False),
        "bearer": "bearer" in card_json.get("securitySchemes", {}),
    }
    streaming = ClientFactory(ClientConfig(streaming=True, httpx_client=http)).create(card)
    blocking = ClientFactory(ClientConfig(streaming=False, httpx_client=http)).create(card)
    polling = ClientFactory(ClientConfig(streaming=False, polling=True, httpx_client=http)).create(card)

    # 1. A streamed message: the task, its progress, the artifact, the end.
    events = []
    async for event in streaming.send_message(request("hello over a2a", fast)):
        kind = event.WhichOneof("payload")
        if kind == "task":
            events.append({"kind": kind, "state": state_name(event.task.status.state), "id": event.task.id})
        elif kind == "status_update":
            texts = [part.text for part in event.status_update.status.message.parts]
            events.append({"kind": kind, "state": state_name(event.status_update.status.state), "text": " ".join(texts)})
        elif kind == "artifact_update":
            events.append({"kind": kind, "texts": [part.text for part in event.artifact_update.artifact.parts if part.text]})
        else:
            events.append({"kind": kind})
    out["streamed"] = events

    # 2. A blocking send, then the same task by id.
    answers = [event async for event in blocking.send_message(request("third", fast))]
    task = answers[-1].task
    fetched = await blocking.get_task(GetTaskRequest(id=task.id))
    out["blocking"] = {
        "answers": len(answers), "state": state_name(task.status.state), "id": task.id,
        "fetched_state": state_name(fetched.status.state), "fetched_id": fetched.id,
        "artifact_texts": [part.text for artifact in fetched.artifacts for part in artifact.parts if part.text],
        "history_roles": [Role.Name(message.role) for message in fetched.history],
    }

    # 3. A slow task: sent without waiting, followed by a subscriber, canceled by another call.
    started = [event async for event in polling.send_message(request("take your time", slow, polling=True))]
    slow_id = started[-1].task.id
    seen = []
    subscribed = asyncio.Event()

    async def follow():
        async for event in streaming.subscribe(SubscribeToTaskRequest(id=slow_id)):
            kind = event.WhichOneof("payload")
            state = event.task.status.state if kind == "task" else event.status_update.status.state if kind == "status_update" else None
            seen.append({"kind": kind, "state": state_name(state) if state is not None else None})
            subscribed.set()

    follower = asyncio.create_task(follow())
    # The cancel must come after the subscription is open (its first event is the task as it
    # stands); a subscription that fails instead surfaces when the follower is awaited below.
    await asyncio.wait([follower, asyncio.create_task(subscribed.wait())], timeout=30, return_when=asyncio.FIRST_COMPLETED)
    for _ in range(200):  # until the worker has reported progress (at most 10 s)
        current = await blocking.get_task(GetTaskRequest(id=slow_id))
        if state_name(current.status.state) == "TASK_STATE_WORKING":
            break
        await asyncio.sleep(0.05)
    canceled = await blocking.cancel_task(CancelTaskRequest(id=slow_id))
    await asyncio.wait_for(follower, 30)
    out["canceled"] = {"state": state_name(canceled.status.state), "subscriber_saw": seen}
    try:
        await blocking.cancel_task(CancelTaskRequest(id=slow_id))
        out["cancel_again"] = "no error"
    except Exception as error:  # the SDK's typed error for -32002
        out["cancel_again"] = type(error).__name__

    # 4. Errors, through the SDK and raw.
    try:
        await blocking.get_task(GetTaskRequest(id="00" * 16))
        out["unknown_task"] = "no error"
    except TaskNotFoundError:
        out["unknown_task"] = "TaskNotFoundError"
    try:
        await blocking.cancel_task(CancelTaskRequest(id=other))
        out["someone_elses_task"] = "no error"
    except TaskNotFoundError:
        out["someone_elses_task"] = "TaskNotFoundError"
    anonymous = httpx.AsyncClient(timeout=30)
    try:
        await ClientFactory(ClientConfig(streaming=False, httpx_client=anonymous)).create(card).get_task(GetTaskRequest(id=task.id))
        out["without_token"] = "no error"
    except A2AClientError as error:
        out["without_token"] = str(error)[:120]
    status, _ = await raw(anonymous, base, rpc("GetTask", {"id": task.id}))
    out["without_token_status"] = status
    await anonymous.aclose()

    # Raw requests go through a client of their own: the SDK's factory adds A2A-Version
    # to the headers of the client it is given.
    plain = httpx.AsyncClient(headers={"Authorization": "Bearer " + token}, timeout=60)
    checks = {}
    for name, (body, options) in {
        "malformed": (None, {"content": "{not json"}),
        "not_jsonrpc": ({"id": 1, "method": "GetTask"}, {}),
        "unknown_method": (rpc("message/send", {}), {}),
        "old_version": (rpc("GetTask", {"id": task.id}), {"version": "0.3"}),
        "no_version": (rpc("GetTask", {"id": task.id}), {"version": None}),
        "bad_params": (rpc("GetTask", {"id": 5}), {}),
        "no_skill": (rpc("SendMessage", {"message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]},
                                         "metadata": {"skill": "nobody-offers-this"}}), {}),
        "oversize": (rpc("SendMessage", {"message": {"messageId": "m2", "role": "ROLE_USER", "parts": [{"text": "x" * (3 << 20)}]},
                                         "metadata": {"skill": fast}}), {}),
        "push": (rpc("CreateTaskPushNotificationConfig", {"taskId": task.id, "url": "http://127.0.0.1:9/hook"}), {}),
    }.items():
        status, answer = await raw(plain, base, body, **options)
        checks[name] = {"status": status, "code": (answer or {}).get("error", {}).get("code"), "id": (answer or {}).get("id", "absent")}
    out["errors"] = checks

    # 5. The HTTP+JSON binding, through the SDK's REST transport and raw.
    rest_stream = ClientFactory(ClientConfig(streaming=True, httpx_client=http, supported_protocol_bindings=["HTTP+JSON"])).create(card)
    rest_block = ClientFactory(ClientConfig(streaming=False, httpx_client=http, supported_protocol_bindings=["HTTP+JSON"])).create(card)
    rest = {"stream_kinds": [], "stream_last": None}
    async for event in rest_stream.send_message(request("over rest", fast)):
        kind = event.WhichOneof("payload")
        rest["stream_kinds"].append(kind)
        if kind == "status_update":
            rest["stream_last"] = state_name(event.status_update.status.state)
    answered = [event async for event in rest_block.send_message(request("rest blocking", fast))][-1].task
    rest["blocking_state"] = state_name(answered.status.state)
    rest["artifact_texts"] = [part.text for artifact in answered.artifacts for part in artifact.parts if part.text]
    rest["fetched_state"] = state_name((await rest_block.get_task(GetTaskRequest(id=answered.id))).status.state)
    try:
        await rest_block.get_task(GetTaskRequest(id="00" * 16))
        rest["unknown_task"] = "no error"
    except TaskNotFoundError:
        rest["unknown_task"] = "TaskNotFoundError"
    response = await plain.get(base + "/tasks/" + answered.id, headers={"A2A-Version": "1.0"})
    rest["raw_get"] = {"status": response.status_code, "id": response.json().get("id")}
    response = await plain.get(base + "/tasks/" + "00" * 16, headers={"A2A-Version": "1.0"})
    rest["raw_unknown"] = {"status": response.status_code, "error_status": response.json().get("error", {}).get("status")}
    response = await plain.get(base + "/tasks/" + answered.id)
    rest["raw_no_version"] = response.status_code
    out["rest"] = rest
    await plain.aclose()
    # The gateway still answers after all that.
    out["still_answers"] = state_name((await blocking.get_task(GetTaskRequest(id=task.id))).status.state)
    await http.aclose()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
