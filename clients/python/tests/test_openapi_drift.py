"""The SDK against the node's OpenAPI document (``Sources/PlexusAPI/openapi.json``), so the
two cannot drift apart:

* every view class has exactly the properties of its schema, the required ones as plain
  fields and the others ``Optional`` with a ``None`` default, with compatible types;
* every object schema the node answers with has a view class;
* every route the SDK calls (read from the source: the method and path of each
  ``_send``/``_stream``/``_sse`` call) is in the document, and every route of the
  document is in the SDK (but MCP's, which is for MCP clients);
* every error code has its exception class;
* the blocking ``Client`` has every method of ``AsyncClient``, with the same signature.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import os
import types
import typing
from pathlib import Path
from typing import Any

import pytest

import plexus
import plexus._client
import plexus.models as models
from plexus.errors import ERROR_CLASSES

REPO = Path(__file__).resolve().parents[3]
DOCUMENT = Path(os.environ.get("PLEXUS_OPENAPI", REPO / "Sources" / "PlexusAPI" / "openapi.json"))

#: Routes the SDK leaves to other clients.
NOT_IN_SDK = {("POST", "/mcp"), ("GET", "/mcp"), ("DELETE", "/mcp")}
#: Request bodies and envelopes: the SDK builds these from keyword arguments.
NOT_VIEWS = {"ErrorEnvelope"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


def resolve(document: dict[str, Any], pointer: str) -> Any:
    """The object at a JSON pointer (``#/a/b``) or a schema name."""
    if not pointer.startswith("#/"):
        pointer = f"#/components/schemas/{pointer}"
    node: Any = document
    for part in pointer[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def deref(document: dict[str, Any], schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """A property's schema with ``$ref``/``allOf``/``anyOf``/``oneOf`` of one schema (and null) resolved.

    Returns the schema and whether it admits null.
    """
    nullable = False
    while True:
        if "$ref" in schema:
            schema = resolve(document, schema["$ref"])
            continue
        for key in ("allOf", "anyOf", "oneOf"):
            if key in schema:
                options = [s for s in schema[key] if s.get("type") != "null"]
                nullable = nullable or len(options) < len(schema[key])
                if len(options) == 1 and not ({"type", "properties"} & schema.keys()):
                    schema = options[0]
                    break
        else:
            kind = schema.get("type")
            if isinstance(kind, list) and "null" in kind:
                nullable = True
            return schema, nullable


def unwrap(annotation: Any) -> tuple[Any, bool]:
    """``X | None`` → ``(X, True)``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        rest = [a for a in args if a is not type(None)]
        if len(rest) < len(args):
            return (rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]), True
    return annotation, annotation is Any


PRIMITIVES = {"integer": int, "number": float, "string": str, "boolean": bool}


def type_problems(document: dict[str, Any], annotation: Any, schema: dict[str, Any], where: str) -> list[str]:
    """How ``annotation`` does not fit the JSON schema (empty when it fits)."""
    schema, _ = deref(document, schema)
    annotation, _ = unwrap(annotation)
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    if kind is None and "const" in schema:
        kind = {str: "string", int: "integer", bool: "boolean"}.get(type(schema["const"]))
    if kind is None:
        return [] if annotation is Any else [f"{where}: any JSON in the document, {annotation} here"]
    if kind in PRIMITIVES:
        return [] if annotation is PRIMITIVES[kind] else [f"{where}: {kind} in the document, {annotation} here"]
    origin = typing.get_origin(annotation)
    if kind == "array":
        if origin is not list:
            return [f"{where}: array in the document, {annotation} here"]
        (item,) = typing.get_args(annotation)
        return type_problems(document, item, schema.get("items", {}), f"{where}[]")
    if kind == "object":
        if isinstance(annotation, type) and issubclass(annotation, models.Model):
            if resolve(document, annotation.__schema__) is not schema:
                return [f"{where}: {annotation.__name__} mirrors {annotation.__schema__}, not this object"]
            return []
        if origin is dict:
            key, value = typing.get_args(annotation)
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict):
                return type_problems(document, value, extra, f"{where}{{}}")
            return [] if value is Any else [f"{where}: free object in the document, {annotation} here"]
        return [f"{where}: object in the document, {annotation} here"]
    return [f"{where}: unhandled schema type {kind}"]


def view_classes() -> list[type[models.Model]]:
    return [
        cls
        for cls in vars(models).values()
        if isinstance(cls, type) and issubclass(cls, models.Model) and cls is not models.Model
    ]


@pytest.mark.parametrize("cls", view_classes(), ids=lambda cls: cls.__name__)
def test_view_class_matches_its_schema(document: dict[str, Any], cls: type[models.Model]) -> None:
    assert cls.__schema__, f"{cls.__name__} names no schema"
    schema = resolve(document, cls.__schema__)
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    hints = typing.get_type_hints(cls)
    fields = {models.json_name(f): f for f in dataclasses.fields(cls) if not f.metadata.get("sdk")}

    assert set(fields) == set(properties), (
        f"{cls.__name__}: missing {sorted(set(properties) - set(fields))}, unknown {sorted(set(fields) - set(properties))}"
    )
    problems: list[str] = []
    for name, f in fields.items():
        inner, optional = unwrap(hints[f.name])
        if name in required:
            if optional or f.default is not dataclasses.MISSING:
                problems.append(f"{name}: required in the document, optional here")
        else:
            if not optional or f.default is not None:
                problems.append(f"{name}: optional in the document, required here")
        problems += type_problems(document, hints[f.name], properties[name], f"{cls.__name__}.{name}")
    assert problems == []


def test_every_view_schema_has_a_class(document: dict[str, Any]) -> None:
    mirrored = {cls.__schema__ for cls in view_classes()}
    views = {
        name
        for name, schema in document["components"]["schemas"].items()
        if schema.get("type") == "object" and not name.endswith("Request") and name not in NOT_VIEWS
    }
    assert sorted(views - mirrored) == []


def sdk_routes() -> set[tuple[str, str]]:
    """(method, path) of every ``_send``/``_stream``/``_sse`` call in the client's source."""
    tree = ast.parse(Path(inspect.getfile(plexus._client)).read_text(encoding="utf-8"))
    routes: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name not in ("_send", "_stream", "_sse"):
            continue
        method, path = node.args[:2]
        assert isinstance(method, ast.Constant) and isinstance(path, ast.Constant), ast.unparse(node)
        routes.add((str(method.value), str(path.value)))
    return routes


def document_routes(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "delete", "patch")
    }


def test_every_sdk_route_is_in_the_document(document: dict[str, Any]) -> None:
    used = sdk_routes()
    assert len(used) > 80
    assert sorted(used - document_routes(document)) == []


def test_every_document_route_is_in_the_sdk(document: dict[str, Any]) -> None:
    assert sorted(document_routes(document) - sdk_routes() - NOT_IN_SDK) == []


def test_every_error_code_has_its_class(document: dict[str, Any]) -> None:
    codes = set(document["components"]["schemas"]["ErrorCode"]["enum"])
    assert codes == set(ERROR_CLASSES)
    for code, cls in ERROR_CLASSES.items():
        assert issubclass(cls, plexus.PlexusError) and cls.CODE == code
        assert getattr(plexus, cls.__name__) is cls
    unknown = plexus.error_for("somethingNew", "from a newer node", 418)
    assert type(unknown) is plexus.PlexusError and unknown.code == "somethingNew" and unknown.status == 418


def test_blocking_client_mirrors_the_async_client() -> None:
    for name, member in inspect.getmembers(plexus.AsyncClient):
        if name.startswith("_") or not callable(member) or name in ("connect",):
            continue
        twin = {"aclose": "close", "run": "run_forever"}.get(name, name)
        assert hasattr(plexus.Client, twin), f"Client lacks {twin}"
        if twin != name:
            continue
        blocking = getattr(plexus.Client, name)
        async_params = list(inspect.signature(member).parameters.values())[1:]
        blocking_params = list(inspect.signature(blocking).parameters.values())[1:]
        assert [(p.name, p.kind, p.default) for p in async_params] == [(p.name, p.kind, p.default) for p in blocking_params], name
        assert (blocking.__doc__ or "").strip(), f"Client.{name} has no documentation"


def test_public_api_is_documented() -> None:
    for name in plexus.__all__:
        obj = getattr(plexus, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert (obj.__doc__ or "").strip(), f"{name} has no docstring"
    for cls in (plexus.AsyncClient, plexus.Client, plexus.Task, plexus.EventStream):
        for member_name, member in vars(cls).items():
            if not member_name.startswith("_") and callable(member):
                assert (member.__doc__ or "").strip(), f"{cls.__name__}.{member_name} has no docstring"
