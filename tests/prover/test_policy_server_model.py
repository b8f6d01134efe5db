"""A model policy on Ray for real: one `PolicyServer` actor owns an `AsyncEngine` over a tiny
random DeepSeek-V3-shaped checkpoint (written here), and a `ProverWorker` searches with the
mixed policy through it. The model's tokens show up in the record, in the server's counts and
as the policy batch-size metric."""
from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import pytest

from lean_env.theorem import Theorem
from prover.agent import AgentSolver, ModelEngineFactory
from prover.config import ClusterConfig, ProverConfig
from prover.evaluate import run_evaluation
from prover.metrics import GENERATED_TOKENS_PER_S, POLICY_BATCH_SIZE

HEADER = "import Mathlib\n\nset_option maxHeartbeats 400000\n\nopen BigOperators Real Nat Topology Rat\n"


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    from training.bpe import BpeConfig, curriculum_texts, train_bpe
    from training.export import save_checkpoint
    from training.train import TrainConfig, build_model

    root = tmp_path_factory.mktemp("tiny-policy")
    tokenizer = train_bpe(curriculum_texts(seed=0, per_family=1), root / "tokenizer", BpeConfig(vocab_size=400))
    shape = TrainConfig(
        out_dir=root / "run", tokenizer_dir=root / "tokenizer", hidden_size=32, num_hidden_layers=2,
        num_attention_heads=2, q_lora_rank=16, kv_lora_rank=16, qk_nope_head_dim=8, qk_rope_head_dim=8,
        v_head_dim=8, intermediate_size=64, moe_intermediate_size=16, n_routed_experts=4, n_shared_experts=1,
        num_experts_per_tok=2, n_group=2, topk_group=2, first_k_dense_replace=1, max_position_embeddings=2048,
    )
    model = build_model(shape.model_config(tokenizer.vocab_size, tokenizer.bos_token_id, tokenizer.eos_token_id))
    save_checkpoint(model, root / "checkpoint", root / "tokenizer")
    return root / "checkpoint"


def test_workers_generate_through_one_policy_server(ray_session, tiny_checkpoint: Path, tmp_path: Path) -> None:
    import ray

    from prover.cluster import NamedEngine, ProverPool, start_policy_server

    config = ProverConfig.build(policy="mixed", model_dir=tiny_checkpoint, time_limit_s=60, max_expansions=1,
                                environ={})
    server = start_policy_server(ModelEngineFactory(tiny_checkpoint), name="test-model-policy")
    resolver = NamedEngine("test-model-policy", namespace="prover-tests", tokenizer_dir=tiny_checkpoint)
    pool = ProverPool(AgentSolver(config, engine_resolver=resolver), ClusterConfig(workers=1, cpus_per_worker=1.0),
                      policy_server=server)
    theorem = Theorem("mathd_tiny_1", HEADER, "theorem mathd_tiny_1 (x : ℝ) (h₀ : 3 * x = 12) : x = 4 := by")
    assert ray.get(server.stats.remote())["requests"] == 0
    url = f"http://127.0.0.1:{ray_session['metrics_port']}/metrics"
    wanted = {f"ray_{POLICY_BATCH_SIZE}", f"ray_{GENERATED_TOKENS_PER_S}"}
    served: dict = {}
    seen: set[str] = set()

    def while_the_server_lives(record) -> None:
        # Closing the pool kills the server, and Ray drops a dead actor's gauges: read the
        # server's counts and scrape its metrics as the result comes in.
        served.update(ray.get(server.stats.remote()))
        for _ in range(30):
            text = urllib.request.urlopen(url, timeout=5).read().decode()
            seen.update(name for name in wanted if f"# TYPE {name}" in text)
            if seen == wanted:
                return
            time.sleep(1)

    outcome = run_evaluation([theorem], pool, tmp_path, on_result=while_the_server_lives)

    [record] = outcome.records
    # The hammer half of the mixed policy closes it; the model half really generated, remotely.
    assert record.status == "proved" and record.backend == "embedded kernel"
    assert record.tokens > 0
    assert served["requests"] >= 1 and served["generated_tokens"] >= record.tokens
    assert seen == wanted
