"""The HTTP API's `/docs` page: one self-contained HTML page built from the OpenAPI schema.

FastAPI's own `/docs` (Swagger UI) and `/redoc` load their scripts and styles from a CDN, so on
a machine without internet they are blank. This page needs nothing but itself: no script, no
external stylesheet or font, every link local (`#anchors`, `/openapi.json`).
"""
from __future__ import annotations

import json
from html import escape
from typing import Any

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: .2rem; margin-top: 2rem; }
.op { border: 1px solid #ddd; border-radius: 4px; padding: .5rem 1rem; margin: 1rem 0; }
.method { font-weight: bold; display: inline-block; min-width: 4rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { border: 1px solid #ddd; padding: .25rem .5rem; text-align: left; vertical-align: top; font-size: .9rem; }
code, pre { background: #f4f4f4; padding: 0 .2rem; }
pre { padding: .5rem; overflow-x: auto; }
"""


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _type_of(schema: dict[str, Any]) -> str:
    """A short HTML rendering of a JSON schema's type (refs become links to their table)."""
    if "$ref" in schema:
        name = escape(_ref_name(schema["$ref"]))
        return f'<a href="#schema-{name}">{name}</a>'
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return " | ".join(_type_of(part) for part in schema[key])
    if "enum" in schema:
        return " | ".join(f"<code>{escape(json.dumps(v))}</code>" for v in schema["enum"])
    if "const" in schema:
        return f"<code>{escape(json.dumps(schema['const']))}</code>"
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type_of(schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema and isinstance(schema["additionalProperties"], dict):
        return f"object of {_type_of(schema['additionalProperties'])}"
    return escape(str(kind))


def _constraints(schema: dict[str, Any]) -> str:
    words = {"minimum": "≥", "exclusiveMinimum": ">", "maximum": "≤", "exclusiveMaximum": "<",
             "minLength": "min length", "maxLength": "max length"}
    parts = [f"{words[key]} {schema[key]}" for key in words if key in schema]
    for part in schema.get("anyOf", []):
        parts += [f"{words[key]} {part[key]}" for key in words if key in part]
    return escape(", ".join(parts))


def _schema_table(name: str, schema: dict[str, Any]) -> str:
    rows = []
    required = set(schema.get("required", []))
    for field, spec in schema.get("properties", {}).items():
        default = escape(json.dumps(spec["default"])) if "default" in spec else ("required" if field in required else "")
        rows.append(f"<tr><td><code>{escape(field)}</code></td><td>{_type_of(spec)}</td><td>{default}</td>"
                    f"<td>{_constraints(spec)}</td><td>{escape(spec.get('description', ''))}</td></tr>")
    head = "<tr><th>field</th><th>type</th><th>default</th><th>limits</th><th>description</th></tr>"
    body = f"<table>{head}{''.join(rows)}</table>" if rows else f"<p>{_type_of(schema)}</p>"
    about = f"<p>{escape(schema['description'])}</p>" if schema.get("description") else ""
    return f'<h3 id="schema-{escape(name)}">{escape(name)}</h3>{about}{body}'


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    parts = [f'<div class="op"><p><span class="method">{escape(method.upper())}</span> <code>{escape(path)}</code>'
             f" — {escape(op.get('summary', ''))}</p>"]
    if op.get("description"):
        parts.append(f"<p>{escape(op['description'])}</p>")
    params = op.get("parameters", [])
    if params:
        parts.append("<p>Parameters: " + ", ".join(
            f"<code>{escape(p['name'])}</code> ({escape(p.get('in', ''))}, {_type_of(p.get('schema', {}))})"
            for p in params) + "</p>")
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if body:
        parts.append(f"<p>Request body (JSON): {_type_of(body)}</p>")
    responses = []
    for code, response in op.get("responses", {}).items():
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        shown = f": {_type_of(schema)}" if schema else ""
        responses.append(f"<li><code>{escape(code)}</code> {escape(response.get('description', ''))}{shown}</li>")
    if responses:
        parts.append(f"<p>Responses:</p><ul>{''.join(responses)}</ul>")
    parts.append("</div>")
    return "".join(parts)


def render_docs(spec: dict[str, Any]) -> str:
    """The whole page for an OpenAPI document (as returned by `FastAPI.openapi()`)."""
    info = spec.get("info", {})
    title = escape(f"{info.get('title', 'API')} {info.get('version', '')}".strip())
    operations = [_operation(path, method, op) for path, item in spec.get("paths", {}).items()
                  for method, op in item.items() if isinstance(op, dict)]
    schemas = [_schema_table(name, schema) for name, schema in spec.get("components", {}).get("schemas", {}).items()]
    example = ('BASE=127.0.0.1:8000\n'
               'curl -s -X POST "$BASE/prove" -H "content-type: application/json" \\\n'
               '  -d \'{"header": "import Mathlib", "statement": "theorem t (x : ℝ) (h : x + 1 = 3) : x = 2 := by",'
               ' "search": {"budget": {"time_limit_s": 30}}}\'\n'
               'curl -s "$BASE/jobs/<job_id>"   # until "status" is "done" or "error"')
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{title}</h1>"
            f"<p>{escape(info.get('description', ''))}</p>"
            f'<p>The machine-readable schema: <a href="/openapi.json">/openapi.json</a>.</p>'
            f"<h2>Example</h2><pre>{escape(example)}</pre>"
            f"<h2>Endpoints</h2>{''.join(operations)}<h2>Schemas</h2>{''.join(schemas)}</body></html>")
