"""Dense-model engine benchmark: the whole-proof workload, engine vs transformers' generate.

A small random Qwen3-shaped model (GQA, per-head q/k RMSNorm, the shape of Goedel-Prover-V2 /
Kimina-Prover-RL scaled down) is built with transformers, its output projection scaled so its
next-token distributions are peaked like a trained prover's (not uniform noise), saved, and loaded
with model.loader.load_model, so both run the same weights.

Workload (whole-proof generation, as DeepSeek-Prover-V1.5/V2, Goedel-Prover-V2 and Kimina-Prover
are used): prompts that share a long header (the Lean preamble and instructions) and differ in the
theorem statement; n = 8 samples of 256 new tokens each (temperature 1, top_p 0.95, EOS ignored on
both sides). transformers runs one `generate` per prompt with num_return_sequences = n, as a
whole-proof worker would; the engine takes all requests at once (continuous batching, prefix cache,
the paged K/V cache with decode through kernels.dispatch.gqa_decode).

Run: python -m benchmarks.dense_bench [--quick] [--threads N]   (make bench runs it through
benchmarks.run, in the engine section)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass

import torch

# the same generate loop, weight loading and weight check as the MoE engine bench
from benchmarks.engine_bench import bench_transformers, ours_from, same_weights_check

BENCH_MODEL = dict(
    vocab_size=16384,
    hidden_size=256,
    intermediate_size=768,
    num_hidden_layers=4,
    num_attention_heads=8,
    num_key_value_heads=2,
    head_dim=64,
    tie_word_embeddings=False,  # as Goedel-Prover-V2-8B/32B (Qwen3-8B/32B); the 0.6B/1.7B tie them
    max_position_embeddings=4096,
    rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0},
    bos_token_id=0,
    eos_token_id=1,
)


LM_HEAD_SCALE = 20.0  # see build_models


@dataclass
class Workload:
    num_prompts: int = 8
    header_len: int = 160  # shared by every prompt
    statement_len: int = 64
    n: int = 8
    new_tokens: int = 256
    hf_prompts: int = 2  # prompts timed with transformers (its calls are independent and alike)


def build_models(threads: int):
    """(transformers Qwen3ForCausalLM, our DenseForCausalLM) with identical weights, float32, eval."""
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    config = Qwen3Config(**BENCH_MODEL)
    config._attn_implementation = "sdpa"
    hf = Qwen3ForCausalLM(config).eval()
    with torch.no_grad():
        # A trained prover's next-token distributions are peaked (Lean proofs are low-entropy text);
        # default-initialised random weights give nearly uniform ones over the whole vocabulary.
        # Scaling the output projection makes the logits spread like a trained model's: with x20,
        # the top_p 0.95 nucleus holds a median of ~17 tokens (p90 ~32) instead of ~12k.
        hf.lm_head.weight.mul_(LM_HEAD_SCALE)
    return hf, ours_from(hf)


def make_prompts(w: Workload, vocab: int) -> list[list[int]]:
    g = torch.Generator().manual_seed(1)
    header = torch.randint(2, vocab, (w.header_len,), generator=g).tolist()
    return [header + torch.randint(2, vocab, (w.statement_len,), generator=g).tolist() for _ in range(w.num_prompts)]


def _log(message: str) -> None:
    print(f"[dense_bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def bench_engine(model, prompts: list[list[int]], w: Workload) -> dict:
    from serving import Engine, EngineConfig, SamplingParams

    engine = Engine(model, config=EngineConfig(max_num_seqs=256, max_num_batched_tokens=2048, cache_memory_bytes=1 << 30))
    params = SamplingParams(n=w.n, temperature=1.0, top_p=0.95, max_tokens=w.new_tokens, seed=0, ignore_eos=True)
    engine.decode_graphs.wait_ready()  # a compiled decode step is built once per engine, before serving
    start = time.perf_counter()
    outs = engine.generate(prompts, params)
    elapsed = time.perf_counter() - start
    generated = sum(len(s.token_ids) for o in outs for s in o.outputs)
    return dict(
        seconds=elapsed,
        generated=generated,
        tokens_per_s=generated / elapsed,
        hit_rate=engine.prefix_cache_stats.hit_rate,
        steps=engine.stats.num_steps,
        max_batch=max(engine.stats.batch_sizes),
        decode=engine.mla_decode_source,
        decode_step=engine.decode_graphs.describe(),
    )


def main(quick: bool = False, threads: int | None = None) -> str:
    """Run both sides; returns the markdown section (also printed)."""
    threads = threads or torch.get_num_threads()
    w = Workload() if not quick else Workload(num_prompts=2, header_len=24, statement_len=8, n=2, new_tokens=8, hf_prompts=1)
    hf, model = build_models(threads)
    params = sum(p.numel() for p in model.parameters())
    diff = same_weights_check(hf, model)
    prompts = make_prompts(w, BENCH_MODEL["vocab_size"])
    _log("engine: whole-proof workload")
    engine = bench_engine(model, prompts, w)
    _log(f"engine: {engine}")
    reference = bench_transformers(hf, prompts[: w.hf_prompts], w)
    _log(f"transformers: {reference}")
    ratio = engine["tokens_per_s"] / reference["tokens_per_s"]
    m = BENCH_MODEL
    lines = [
        f"Model: random Qwen3-shaped, {params / 1e6:.1f}M parameters ({m['num_hidden_layers']} layers, hidden "
        f"{m['hidden_size']}, {m['num_attention_heads']} query / {m['num_key_value_heads']} key-value heads of "
        f"{m['head_dim']}, q/k norm, vocab {m['vocab_size']}, output projection x{LM_HEAD_SCALE:g} so sampling is "
        f"peaked as a trained model's), float32, CPU, {threads} torch threads. "
        f"Same weights in both (max |logit diff| {diff:.1e}).",
        "",
        f"Workload (whole proofs): {w.num_prompts} prompts of {w.header_len + w.statement_len} tokens sharing a "
        f"{w.header_len}-token header; n={w.n} samples of {w.new_tokens} new tokens each (temperature 1, top_p 0.95). "
        f"transformers: one `generate` per prompt with num_return_sequences={w.n}, timed on {w.hf_prompts} of the "
        f"{w.num_prompts} prompts (the calls are independent and the same shape, so its tokens/s over them is its "
        "rate for the whole workload).",
        "",
        "| measure | engine | transformers | ratio (target) |",
        "|---|---|---|---|",
        f"| generated tokens/s | {engine['tokens_per_s']:.1f} | {reference['tokens_per_s']:.1f} | {ratio:.1f}x (>= 5x) |",
        f"| wall time (s): engine {w.num_prompts} prompts, transformers {w.hf_prompts} | {engine['seconds']:.1f} | "
        f"{reference['seconds']:.1f} | |",
        "",
        f"Engine: prefix-cache hit rate {engine['hit_rate']:.1%} of looked-up prompt tokens; {engine['steps']} steps, "
        f"largest batch {engine['max_batch']} sequences; decode attention through `{engine['decode']}`; "
        f"decode step: {engine['decode_step']}.",
        "",
        f"Load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores. The machine is shared: absolute "
        "figures are approximate; the ratio (same machine, same run) is what counts.",
    ]
    text = "\n".join(lines)
    print(text)
    return text


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny workload to check the bench runs")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    main(quick=args.quick, threads=args.threads)
