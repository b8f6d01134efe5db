"""Shared fixtures: a tiny random DeepSeek-V2-shaped model, a plain no-cache greedy loop, a
character tokenizer double (for stop strings)."""

from __future__ import annotations

import pytest
import torch

from model.config import ModelConfig
from model.deepseek import DeepseekForCausalLM

TINY_CONFIG = dict(
    model_type="deepseek_v2",
    vocab_size=128,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    q_lora_rank=None,
    kv_lora_rank=32,
    qk_nope_head_dim=16,
    qk_rope_head_dim=8,
    v_head_dim=16,
    max_position_embeddings=256,
    n_routed_experts=4,
    n_shared_experts=1,
    num_experts_per_tok=2,
    moe_intermediate_size=32,
    first_k_dense_replace=1,
    bos_token_id=0,
    eos_token_id=1,
)


def build_tiny_model(dtype: torch.dtype, seed: int = 0, **overrides) -> DeepseekForCausalLM:
    torch.manual_seed(seed)
    model = DeepseekForCausalLM(ModelConfig.from_dict({**TINY_CONFIG, **overrides}))
    with torch.no_grad():
        # large enough weights that the greedy continuation is varied (not one repeated token)
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 1.0 if "embed" in name else 0.3)
    return model.to(dtype).eval()


@pytest.fixture(scope="session")
def model64() -> DeepseekForCausalLM:
    return build_tiny_model(torch.float64)


@pytest.fixture(scope="session")
def model32() -> DeepseekForCausalLM:
    return build_tiny_model(torch.float32, seed=1)


@torch.inference_mode()
def greedy_reference(model, prompt: list[int], max_tokens: int, stop_at_eos: bool = False) -> tuple[list[int], list[float]]:
    """The plain loop the engine must match: full no-cache forward each step, argmax."""
    ids = list(prompt)
    out, logprobs = [], []
    for _ in range(max_tokens):
        logits = model(torch.tensor([ids]))[0, -1]
        token = int(torch.argmax(logits))
        out.append(token)
        logprobs.append(float(torch.log_softmax(logits.double(), dim=-1)[token]))
        ids.append(token)
        if stop_at_eos and token == model.config.eos_token_id:
            break
    return out, logprobs


@pytest.fixture
def reference():
    return greedy_reference


class CharTokenizer:
    """One character per token id (U+0100 + id)."""

    def encode(self, text: str) -> list[int]:
        return [ord(c) - 0x100 for c in text]

    def decode(self, token_ids: list[int]) -> str:
        return "".join(chr(0x100 + t) for t in token_ids)


@pytest.fixture
def char_tokenizer() -> CharTokenizer:
    return CharTokenizer()


def random_prompts(lengths: list[int], seed: int, vocab: int = 128) -> list[list[int]]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(2, vocab, (n,), generator=g).tolist() for n in lengths]


@pytest.fixture
def make_prompts():
    return random_prompts
