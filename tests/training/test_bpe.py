"""The byte-level BPE: trained on Lean text, loadable by model.tokenizer, lossless on any Unicode."""
from __future__ import annotations

import json

from model.tokenizer import load_tokenizer
from training.bpe import BOS_TOKEN, EOS_TOKEN, PAD_TOKEN, prompt_text


def test_tokenizer_files_load_with_bos_eos_pad(tokenizer_dir):
    settings = json.loads((tokenizer_dir / "tokenizer_config.json").read_text())
    assert settings["bos_token"] == BOS_TOKEN and settings["eos_token"] == EOS_TOKEN
    tok = load_tokenizer(tokenizer_dir)
    ids = {tok.bos_token_id, tok.eos_token_id, tok.token_to_id(PAD_TOKEN)}
    assert None not in ids and len(ids) == 3
    assert tok.encode("x")[0] == tok.bos_token_id          # add_bos_token is on
    assert tok.encode("x", add_bos=False)[0] != tok.bos_token_id
    assert 300 < tok.vocab_size <= 600


def test_round_trip_is_exact_even_for_unseen_symbols(tokenizer_dir):
    tok = load_tokenizer(tokenizer_dir)
    texts = [
        "theorem t (x : ℝ) (h₀ : 3 * x + 2 = 11) : x = 3 := by\n  linarith",
        "⊢ ∑ k ∈ Finset.range n, k = n * (n - 1) / 2",
        "∮ 𝔽 ⟪a, b⟫ — never in the corpus\t\n",
    ]
    for text in texts:
        assert tok.decode(tok.encode(text, add_bos=False)) == text


def test_merges_compress_the_prompt_format(tokenizer_dir):
    tok = load_tokenizer(tokenizer_dir)
    prompt = prompt_text("t", "import Mathlib\n", "theorem t (x : ℝ) (h₀ : 2 * x = 4) : x = 2 := by",
                         "x : ℝ\nh₀ : 2 * x = 4\n⊢ x = 2")
    assert len(tok.encode(prompt, add_bos=False)) < len(prompt.encode("utf-8")) / 2.5


def test_digits_are_single_tokens_so_a_number_reads_the_same_everywhere(tokenizer_dir):
    """Copying a statement's number into a witness (`= -55` -> `use ((-55) - 8) / 9`) is then
    copying the same digit tokens, whatever stands before the number."""
    tok = load_tokenizer(tokenizer_dir)

    def pieces(text: str) -> list[str]:
        return [tok.decode([i]) for i in tok.encode(text, add_bos=False)]

    digits_of = {text: [p for p in pieces(text) if p.strip().isdigit()] for text in
                 ["x = 123", "(123 - b)", "((-123) - b)", "123 * a", "a + 123"]}
    assert all(found == ["1", "2", "3"] for found in digits_of.values()), digits_of
    assert all(len(p.strip()) <= 1 or not any(c.isdigit() for c in p) for p in pieces("f 2024 = 17 ∧ x₁ ≥ 90"))
