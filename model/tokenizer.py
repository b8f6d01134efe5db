"""The policy's tokenizer: `tokenizer.json` through the `tokenizers` library.

`tokenizer_config.json`, when present, supplies the bos/eos tokens (plain strings or
`{"content": ...}` objects) and whether a bos token starts each encoded text (`add_bos_token`).
Special tokens are added here, not by the tokenizer.json post-processor, so `encode` means the
same thing for every checkpoint.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer as HFTokenizer

TOKENIZER_FILE = "tokenizer.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"


class TokenizerError(ValueError):
    """The tokenizer files are missing or inconsistent; the message says which."""


def _token_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return value["content"]
    raise TokenizerError(f"a special token must be a string or {{'content': ...}}, got {value!r}")


@dataclass
class Tokenizer:
    backend: HFTokenizer
    bos_token: str | None = None
    eos_token: str | None = None
    add_bos_token: bool = False

    @classmethod
    def from_dir(cls, path: str | Path) -> "Tokenizer":
        directory = Path(path)
        tokenizer_file = directory / TOKENIZER_FILE
        if not tokenizer_file.exists():
            raise TokenizerError(f"{directory}: no {TOKENIZER_FILE}; pass the model directory that holds it")
        backend = HFTokenizer.from_file(str(tokenizer_file))
        settings: dict[str, Any] = {}
        config_file = directory / TOKENIZER_CONFIG_FILE
        if config_file.exists():
            try:
                settings = json.loads(config_file.read_text())
            except json.JSONDecodeError as exc:
                raise TokenizerError(f"{config_file}: not valid JSON ({exc})") from None
        tokenizer = cls(
            backend=backend,
            bos_token=_token_text(settings.get("bos_token")),
            eos_token=_token_text(settings.get("eos_token")),
            add_bos_token=bool(settings.get("add_bos_token", False)),
        )
        for role, token in (("bos_token", tokenizer.bos_token), ("eos_token", tokenizer.eos_token)):
            if token is not None and backend.token_to_id(token) is None:
                raise TokenizerError(f"{config_file}: {role} {token!r} is not in the vocabulary of {tokenizer_file}")
        if tokenizer.add_bos_token and tokenizer.bos_token is None:
            raise TokenizerError(f"{config_file}: add_bos_token is true but no bos_token is given")
        return tokenizer

    @property
    def bos_token_id(self) -> int | None:
        return None if self.bos_token is None else self.backend.token_to_id(self.bos_token)

    @property
    def eos_token_id(self) -> int | None:
        return None if self.eos_token is None else self.backend.token_to_id(self.eos_token)

    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str, add_bos: bool | None = None) -> list[int]:
        """Token ids of `text`; a bos id first when add_bos (default: tokenizer_config's add_bos_token)."""
        ids = self.backend.encode(text, add_special_tokens=False).ids
        if self.add_bos_token if add_bos is None else add_bos:
            if self.bos_token_id is None:
                raise TokenizerError("add_bos requested but this tokenizer has no bos_token")
            ids = [self.bos_token_id, *ids]
        return ids

    def encode_batch(self, texts: list[str], add_bos: bool | None = None) -> list[list[int]]:
        return [self.encode(text, add_bos) for text in texts]

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        return self.backend.decode(list(ids), skip_special_tokens=skip_special_tokens)

    def token_to_id(self, token: str) -> int | None:
        return self.backend.token_to_id(token)


def load_tokenizer(path: str | Path) -> Tokenizer:
    return Tokenizer.from_dir(path)
