"""Chat templates: a checkpoint's own template (`tokenizer_config.json` `chat_template`, or a
`chat_template.jinja` file) rendered the way transformers renders it.

Kimina-Prover and Goedel-Prover-V2 (Qwen3 chat), DeepSeek-Prover-V2 (DeepSeek chat) are chat
models: their prompt is a conversation turned into text by the Jinja template shipped with
the checkpoint. We render that template with jinja2's immutable sandbox (a template is data
from a downloaded checkpoint, so it must not reach Python objects), with transformers'
settings: `trim_blocks`, `lstrip_blocks`, the loop-controls extension, a `tojson` filter that
keeps non-ASCII text, and the `raise_exception` / `strftime_now` globals. The variables are
transformers' too: `messages`, `add_generation_prompt`, and every special token of the
tokenizer config (`bos_token`, `eos_token`, …).

The rendered text already holds the template's own bos token, so it is encoded without
adding another (as `apply_chat_template(tokenize=True)` does).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Sequence

TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
TEMPLATE_FILE = "chat_template.jinja"


class ChatTemplateError(ValueError):
    """No usable chat template, or the template refused the conversation; the message says why."""


def _special_token(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return value["content"]
    return None


@dataclass(frozen=True)
class ChatTemplate:
    """A chat template's source and the special tokens it may refer to."""

    source: str
    special_tokens: Mapping[str, str] = field(default_factory=dict)
    origin: str = "inline"

    @classmethod
    def from_dir(cls, directory: str | Path, override: str | Path | None = None) -> "ChatTemplate":
        """The template of the checkpoint in `directory`; `override` (a file path or the template
        text itself, as vLLM's `--chat-template`) replaces the checkpoint's own."""
        directory = Path(directory)
        config: dict[str, Any] = {}
        config_file = directory / TOKENIZER_CONFIG_FILE
        if config_file.is_file():
            try:
                config = json.loads(config_file.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise ChatTemplateError(f"{config_file}: not valid JSON ({exc})") from None
        tokens = {key: text for key, value in config.items()
                  if key.endswith("_token") and (text := _special_token(value)) is not None}
        if override is not None:
            path = Path(str(override))
            if "{" not in str(override) and path.is_file():
                return cls(path.read_text(encoding="utf-8"), tokens, str(path))
            if "{" not in str(override):
                raise ChatTemplateError(f"--chat-template {override}: no such file (give a .jinja file or the template text)")
            return cls(str(override), tokens, "--chat-template")
        source = _template_from_config(config.get("chat_template"), config_file)
        origin = str(config_file)
        if source is None and (directory / TEMPLATE_FILE).is_file():
            source, origin = (directory / TEMPLATE_FILE).read_text(encoding="utf-8"), str(directory / TEMPLATE_FILE)
        if source is None:
            raise ChatTemplateError(
                f"{directory}: the checkpoint has no chat template (no `chat_template` in {TOKENIZER_CONFIG_FILE}, "
                f"no {TEMPLATE_FILE}); use a plain-completion prompt format (--prompt-format deepseek-v1.5) "
                "or give one with --chat-template")
        return cls(source, tokens, origin)

    def render(self, messages: Sequence[Mapping[str, str]], *, add_generation_prompt: bool = True,
               **variables: Any) -> str:
        """The conversation as the model reads it (ready for the assistant's turn by default)."""
        for i, message in enumerate(messages):
            if not isinstance(message, Mapping) or not isinstance(message.get("role"), str) \
                    or not isinstance(message.get("content"), str):
                raise ChatTemplateError(f"messages[{i}]: expected {{'role': str, 'content': str}}, got {message!r}")
        import jinja2

        try:
            template = _compile(self.source)
            return template.render(messages=[dict(m) for m in messages], add_generation_prompt=add_generation_prompt,
                                   **{**self.special_tokens, **variables})
        except ChatTemplateError:
            raise
        except jinja2.TemplateError as exc:
            raise ChatTemplateError(f"the chat template of {self.origin} failed: {type(exc).__name__}: {exc}") from None


def _template_from_config(value: Any, where: Path) -> str | None:
    """`chat_template` is a string, or a list of {"name", "template"} (the one named "default")."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        named = {item.get("name"): item.get("template") for item in value if isinstance(item, dict)}
        if isinstance(named.get("default"), str):
            return named["default"]
        raise ChatTemplateError(f"{where}: `chat_template` lists {sorted(map(str, named))} but none named 'default'")
    raise ChatTemplateError(f"{where}: `chat_template` must be a string or a list of named templates")


def _raise_exception(message: str) -> None:
    raise ChatTemplateError(f"the chat template refused the conversation: {message}")


def _tojson(value: Any, ensure_ascii: bool = False, indent: int | None = None, separators: Any = None,
            sort_keys: bool = False) -> str:
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _strftime_now(format: str) -> str:
    return datetime.now().strftime(format)


@lru_cache(maxsize=16)
def _compile(source: str) -> Any:
    import jinja2
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    try:
        return env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ChatTemplateError(f"the chat template does not parse: line {exc.lineno}: {exc.message}") from None
