"""Render the HTTP API (from the app's OpenAPI document) and the Prometheus metrics (from
the `Metrics` registry) as Markdown for the documentation site.

The docs build calls these at build time (`scripts/docs_hooks.py`), so the reference pages
are always those of the code being documented:

    python -m govern.apidoc openapi     # the HTTP API page's generated part
    python -m govern.apidoc metrics     # the metrics table
    python -m govern.apidoc json        # the OpenAPI document itself
"""

from __future__ import annotations

import sys
from typing import Any

import msgspec

_METHOD_ORDER = {"get": 0, "post": 1, "put": 2, "patch": 3, "delete": 4}


def gateway_openapi() -> dict[str, Any]:
    """The OpenAPI document of a gateway on the offline default configuration."""
    from govern.config import default_config
    from govern.gateway import Gateway
    from govern.server import create_app
    from govern.server.openapi import openapi_document

    return openapi_document(create_app(Gateway(default_config(environ={}))))


def _anchor(name: str) -> str:
    return f"schema-{name}"


def type_text(schema: dict[str, Any]) -> str:
    """A short, linked rendering of a JSON Schema for a table cell."""
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return f"[{name}](#{_anchor(name)})"
    if "const" in schema:
        return f"`{msgspec.json.encode(schema['const']).decode()}`"
    if "enum" in schema:
        return " \\| ".join(f"`{msgspec.json.encode(v).decode()}`" for v in schema["enum"])
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            return " \\| ".join(type_text(option) for option in schema[combinator])
    kind = schema.get("type")
    if kind == "array":
        return f"list[{type_text(schema.get('items', {}))}]"
    if kind == "object" and "additionalProperties" in schema:
        return f"map[string, {type_text(schema['additionalProperties'])}]"
    if kind is None:
        return "any JSON"
    if "format" in schema:
        return f"`{kind}` ({schema['format']})"
    return f"`{kind}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _operation_md(path: str, method: str, op: dict[str, Any]) -> list[str]:
    lines = [f"### `{method.upper()} {path}`", "", f"**{op['summary']}**", ""]
    if op.get("description"):
        lines += [op["description"], ""]
    for param in op.get("parameters", []):
        lines.append(f"- path parameter `{param['name']}`: {type_text(param['schema'])}")
    body = op.get("requestBody")
    if body:
        schema = body["content"]["application/json"]["schema"]
        lines += [f"Request body (`application/json`): {type_text(schema)}", ""]
    lines += ["| status | body | when |", "|---|---|---|"]
    headers: list[str] = []
    for status, response in op["responses"].items():
        parts = []
        for media, content in response.get("content", {}).items():
            schema = content["schema"]
            if media == "text/event-stream":
                parts.append(
                    f"`text/event-stream` of {type_text(schema['contentSchema'])} "
                    "(with `stream: true`)"
                )
            else:
                parts.append(f"{type_text(schema)} (`{media.split(';')[0]}`)")
        lines.append(f"| {status} | {'; '.join(parts) or '—'} | {_cell(response['description'])} |")
        if status == "200":
            refs = response.get("headers", {}).values()
            headers = [ref["$ref"].rsplit("/", 1)[-1] for ref in refs]
    lines.append("")
    if headers:
        lines += ["Response headers: " + ", ".join(f"`{h}`" for h in headers) + ".", ""]
    return lines


def _schema_md(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"### {name} {{ #{_anchor(name)} }}", ""]
    if schema.get("description"):
        lines += [_cell(schema["description"]), ""]
    properties: dict[str, Any] = schema.get("properties", {})
    if not properties:
        return [*lines, f"Type: {type_text(schema)}.", ""]
    required = set(schema.get("required", ()))
    lines += ["| field | type | required | meaning |", "|---|---|---|---|"]
    for field, prop in properties.items():
        meaning = prop.get("description", "")
        if "default" in prop:
            default = msgspec.json.encode(prop["default"]).decode()
            meaning = f"{meaning} Default `{default}`.".strip()
        lines.append(
            f"| `{field}` | {type_text(prop)} | {'yes' if field in required else ''} "
            f"| {_cell(meaning)} |"
        )
    return [*lines, ""]


def openapi_markdown(doc: dict[str, Any]) -> str:
    """The endpoints, response headers and schemas of an OpenAPI document, as Markdown."""
    lines: list[str] = []
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            by_tag.setdefault(op.get("tags", ["Other"])[0], []).append((path, method, op))
    tags = [t["name"] for t in doc.get("tags", [])]
    for tag in sorted(by_tag, key=lambda t: tags.index(t) if t in tags else len(tags)):
        lines += [f"## {tag}", ""]
        for path, method, op in sorted(
            by_tag[tag], key=lambda item: (item[0], _METHOD_ORDER.get(item[1], 9))
        ):
            lines += _operation_md(path, method, op)
    components = doc.get("components", {})
    if components.get("headers"):
        lines += ["## Response headers", "", "| header | meaning |", "|---|---|"]
        for name, header in components["headers"].items():
            lines.append(f"| `{name}` | {_cell(header['description'])} |")
        lines.append("")
    lines += ["## Schemas", ""]
    for name, schema in components.get("schemas", {}).items():
        lines += _schema_md(name, schema)
    return "\n".join(lines)


def metrics_markdown() -> str:
    """A table of the gateway's Prometheus metrics: exposed names, type, labels, meaning."""
    from prometheus_client.metrics import MetricWrapperBase

    from govern.metrics import Metrics

    lines = ["| metric | type | labels | meaning |", "|---|---|---|---|"]
    for metric in vars(Metrics()).values():
        if not isinstance(metric, MetricWrapperBase):
            continue
        name, kind = metric._name, str(metric._type)
        exposed = {
            "counter": [f"{name}_total"],
            "histogram": [f"{name}_bucket", f"{name}_sum", f"{name}_count"],
        }.get(kind, [name])
        labels = ", ".join(f"`{label}`" for label in metric._labelnames) or "—"
        names = "<br>".join(f"`{n}`" for n in exposed)
        lines.append(f"| {names} | {kind} | {labels} | {_cell(metric._documentation)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """`python -m govern.apidoc openapi|metrics|json`."""
    what = argv[0] if argv else ""
    if what == "openapi":
        print(openapi_markdown(gateway_openapi()))
    elif what == "metrics":
        print(metrics_markdown(), end="")
    elif what == "json":
        print(msgspec.json.format(msgspec.json.encode(gateway_openapi())).decode())
    else:
        print("usage: python -m govern.apidoc openapi|metrics|json", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
