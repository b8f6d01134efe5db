"""The model policy on the real serving engine with a tiny random DeepSeek-V2-shaped model.

The model is random, so its tactics are nonsense: what is checked is the plumbing (prompts in,
completions cut to tactics, guard, token accounting, batching in the engine) and that the
search ends FAILED without an exception.
"""
import pytest
import torch
from search_fakes import THEOREM, FakeEnv, chain_world

from model.config import ModelConfig
from model.deepseek import DeepseekForCausalLM
from search import SearchBudget, prove
from search.policy import ModelPolicy
from serving import AsyncEngine, EngineConfig

TINY = dict(model_type="deepseek_v2", vocab_size=258, hidden_size=32, intermediate_size=64,
            num_hidden_layers=2, num_attention_heads=2, q_lora_rank=None, kv_lora_rank=16,
            qk_nope_head_dim=8, qk_rope_head_dim=8, v_head_dim=8, max_position_embeddings=1024,
            n_routed_experts=4, n_shared_experts=1, num_experts_per_tok=2, moe_intermediate_size=16,
            first_k_dense_replace=1, bos_token_id=256, eos_token_id=257)


class ByteTokenizer:
    """UTF-8 bytes as token ids 0..255 (256 = bos, 257 = eos)."""

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def decode(self, token_ids: list[int]) -> str:
        return bytes(t for t in token_ids if t < 256).decode("utf-8", errors="replace")


@pytest.mark.parametrize("algorithm", ["best-first", "rmaxts"])
def test_model_policy_drives_the_real_engine_and_the_search_fails_cleanly(algorithm):
    torch.manual_seed(0)
    model = DeepseekForCausalLM(ModelConfig.from_dict(TINY)).eval()
    with torch.no_grad():  # as the serving tests do: defined, varied random weights
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 1.0 if "embed" in name else 0.3)
    engine = AsyncEngine(model, ByteTokenizer(), EngineConfig(block_size=16, num_blocks=512, seed=0))
    try:
        policy = ModelPolicy(engine, samples=3, max_tokens=12, temperature=1.0)
        env = FakeEnv(chain_world(3))
        result = prove(THEOREM, env, policy, algorithm=algorithm, concurrency=2, num_candidates=3,
                       budget=SearchBudget(max_expansions=3, time_limit_s=None, max_env_calls=20))
        stats = engine.stats
        assert result.status == "failed" and result.stop_reason in ("expansion limit", "no candidates left"), result
        assert result.error.startswith(result.stop_reason + ":"), result
        assert result.expansions >= 1
        assert 0 < result.tokens <= stats.num_generated_tokens
        assert max(stats.batch_sizes) > 1  # samples (and requests) share engine steps
        for _, tactic in env.calls:
            assert tactic.strip() and "```" not in tactic
    finally:
        engine.shutdown()
