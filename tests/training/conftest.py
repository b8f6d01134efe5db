"""Shared tiny fixtures for the training pipeline tests: a small BPE tokenizer and a tiny V3 config."""
from __future__ import annotations

from pathlib import Path

import pytest

from lean_env.datasets import minif2f_dir
from training.bpe import BpeConfig, curriculum_texts, train_bpe
from training.train import TrainConfig

REPO = Path(__file__).resolve().parents[2]
MINIF2F = minif2f_dir()


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory) -> Path:
    """A 600-token BPE trained on a few curriculum theorems (seconds, not minutes)."""
    out = tmp_path_factory.mktemp("tokenizer")
    train_bpe(curriculum_texts(seed=0, per_family=3), out, BpeConfig(vocab_size=600))
    return out


def tiny_train_config(out_dir: Path, tokenizer_dir: Path, **overrides) -> TrainConfig:
    """2 layers (one dense, one MoE with 4 routed experts in 2 groups, top-2, one shared expert)."""
    settings = dict(
        out_dir=out_dir, tokenizer_dir=tokenizer_dir, curriculum_per_family=2, seed=0,
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, q_lora_rank=16, kv_lora_rank=16,
        qk_nope_head_dim=8, qk_rope_head_dim=8, v_head_dim=8, intermediate_size=64,
        moe_intermediate_size=16, n_routed_experts=4, n_shared_experts=1, num_experts_per_tok=2,
        n_group=2, topk_group=2, first_k_dense_replace=1, max_position_embeddings=512,
        steps=3, batch_size=4, warmup_steps=1, log_every=1, learning_rate=3e-3, max_len=256,
    )
    settings.update(overrides)
    return TrainConfig(**settings)


@pytest.fixture(scope="session")
def embedded_env():
    """One embedded-kernel ProofEnv (a REPL-protocol subprocess) shared by the training tests."""
    from lean_env import open_env

    env = open_env("embedded", pool_size=1)
    yield env
    env.close()


@pytest.fixture
def tiny_config():
    return tiny_train_config
