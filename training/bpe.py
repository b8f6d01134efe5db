"""Train the policy's byte-level BPE tokenizer on Lean text, saved for `model.tokenizer`.

The corpus is Lean as the policy sees it: miniF2F statements and published proofs, initial
tactic states, generated curriculum theorems with their proofs, and whole prompts in the
DeepSeek-Prover format (so the prompt scaffolding becomes a few tokens). Byte-level means every
string (any Unicode: ℝ, ⊢, ₀, ∑) encodes without unknown tokens and decodes back exactly. Digits
are always single tokens (as in LLaMA's tokenizer), never merged into numbers.

Output, in `out_dir`: `tokenizer.json` and `tokenizer_config.json` (bos/eos/pad tokens and
`add_bos_token: true`), which `model.tokenizer.load_tokenizer(out_dir)` reads.

    python -m training.bpe --out build/tokenizer --vocab-size 4096
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from tokenizers import Tokenizer as HFTokenizer
from tokenizers import decoders, models, pre_tokenizers, trainers

from lean_env.datasets import minif2f_dir
from lean_env.theorem import Theorem
from lean_env.types import TacticState
from model.tokenizer import TOKENIZER_CONFIG_FILE, TOKENIZER_FILE, Tokenizer, load_tokenizer
from search.prompt import build_prompt
from training.curriculum import generate

BOS_TOKEN = "<|bos|>"
EOS_TOKEN = "<|eos|>"
PAD_TOKEN = "<|pad|>"
SPECIAL_TOKENS = (BOS_TOKEN, EOS_TOKEN, PAD_TOKEN)
DEFAULT_VOCAB_SIZE = 4096


@dataclass(frozen=True)
class BpeConfig:
    vocab_size: int = DEFAULT_VOCAB_SIZE
    min_frequency: int = 2


def _jsonl(path: Path) -> Iterator[dict]:
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def minif2f_texts(directory: Path | None = None) -> Iterator[str]:
    """Statements (with header), published proofs and initial states of the miniF2F valid split.

    Only vocabulary is learnt from these; a missing folder yields nothing (the curriculum alone
    still trains a working tokenizer)."""
    directory = directory or minif2f_dir()
    for row in _jsonl(directory / "valid.jsonl"):
        yield row["header"] + "\n" + row["formal_statement"]
    for row in _jsonl(directory / "valid_proofs.jsonl"):
        yield row["proof"]
    for row in _jsonl(directory / "valid_initial_states.jsonl"):
        yield row["initial_state"]


def curriculum_texts(seed: int = 0, per_family: int = 30) -> Iterator[str]:
    """Generated statements, proofs, and their prompts (train split only: held-out stays unseen)."""
    for item in generate(seed, "train", per_family):
        yield item.header + "\n" + item.formal_statement + "\n" + "\n".join("  " + t for t in item.tactics)
        state = initial_state_text(item.formal_statement)
        if state is not None:
            yield state
            yield prompt_text(item.name, item.header, item.formal_statement, state)


def initial_state_text(formal_statement: str) -> str | None:
    """The statement's initial goal as the embedded kernel prints it, or None if it cannot."""
    try:
        from lean_env.embedded.statement import elaborate_theorem

        return elaborate_theorem(formal_statement).goal.pretty()
    except Exception:  # noqa: BLE001 - outside the fragment, or the kernel is unavailable: no state text
        return None


def prompt_text(name: str, header: str, statement: str, state_pp: str, proof_so_far: list[str] | None = None) -> str:
    """The policy's prompt (search.prompt's format, the one the engine is asked with)."""
    return build_prompt(Theorem(name, header, statement), list(proof_so_far or []), TacticState(state_pp, 0))


def train_bpe(texts: Iterable[str], out_dir: str | Path, config: BpeConfig = BpeConfig()) -> Tokenizer:
    """Train on `texts`, write tokenizer.json + tokenizer_config.json to `out_dir`, return it loaded."""
    texts = [t for t in texts if t]
    if not texts:
        raise ValueError("train_bpe got no text; pass Lean statements, proofs or states")
    backend = HFTokenizer(models.BPE())
    # One token per digit: a number is then spelt the same wherever it stands (" 17", "(17", "-17"
    # share the digits), so copying a statement's numbers into a witness or a hint is plain
    # token copying, which a small model learns and which carries over to numbers it never saw.
    backend.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=config.vocab_size,
        min_frequency=config.min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(texts, trainer=trainer)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    backend.save(str(out / TOKENIZER_FILE))
    settings = {
        "bos_token": BOS_TOKEN,
        "eos_token": EOS_TOKEN,
        "pad_token": PAD_TOKEN,
        "add_bos_token": True,
        "model_max_length": 4096,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }
    (out / TOKENIZER_CONFIG_FILE).write_text(json.dumps(settings, indent=2) + "\n")
    return load_tokenizer(out)


def default_corpus(seed: int = 0, per_family: int = 30, minif2f_dir: Path | None = None) -> list[str]:
    return [*minif2f_texts(minif2f_dir), *curriculum_texts(seed, per_family)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train the byte-level BPE tokenizer on Lean text.")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--vocab-size", type=int, default=DEFAULT_VOCAB_SIZE)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-family", type=int, default=30)
    args = parser.parse_args(argv)
    tok = train_bpe(default_corpus(args.seed, args.per_family), args.out, BpeConfig(vocab_size=args.vocab_size))
    print(f"wrote {args.out / TOKENIZER_FILE} (vocab {tok.vocab_size})")


if __name__ == "__main__":
    main()
