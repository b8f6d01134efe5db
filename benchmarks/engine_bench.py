"""Engine benchmark: a tree-search-shaped workload, engine vs transformers' generate.

A small random DeepSeek-V2-Lite-shaped model (MLA with V2-Lite's per-head dims, q_lora_rank
null, routed + shared experts, first layer dense) is built with transformers, saved, and loaded
into our model with model.loader.load_model, so both run the same weights.

Workload: groups of prompts sharing a "theorem" prefix (16 prompts of ~300 tokens, ~200 shared
in groups of 4), n samples each (temperature 1, top_p 0.95), a fixed number of new tokens
(EOS ignored on both sides). transformers runs one generate call per prompt with
num_return_sequences=n, as a search worker calling generate would. Also: one decode step at a
2k context, engine (absorbed MLA over the paged latent cache) vs transformers (its cache holds
the latent too, but every step re-expands all of it through kv_b_proj).

Then (issue 17) the shipped checkpoint with the shape search sends: one 200-token prompt
sampled n = 1, 4, 16, 64 times, engine (compiled decode and eager) vs transformers in the same
run, the memory-bound limit of a decode step (weight bytes ÷ measured copy bandwidth), and the
engine's per-part step times (`sweep`).

Run: python -m benchmarks.engine_bench [--quick] [--sweep-only]   (make bench runs it through benchmarks.run)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass

import torch

from serving.engine import STEP_PARTS

BENCH_MODEL = dict(
    vocab_size=16384,
    hidden_size=512,
    intermediate_size=1536,
    moe_intermediate_size=192,
    num_hidden_layers=4,
    num_attention_heads=8,
    num_key_value_heads=8,
    q_lora_rank=None,
    kv_lora_rank=512,
    qk_nope_head_dim=128,
    qk_rope_head_dim=64,
    v_head_dim=128,
    n_routed_experts=16,
    n_shared_experts=2,
    num_experts_per_tok=6,
    first_k_dense_replace=1,
    topk_method="greedy",
    max_position_embeddings=4096,
    bos_token_id=0,
    eos_token_id=1,
)


@dataclass
class Workload:
    num_groups: int = 4
    prompts_per_group: int = 4
    shared_len: int = 200
    tail_len: int = 100
    n: int = 16
    new_tokens: int = 32
    decode_context: int = 2048


def build_models(threads: int):
    """(transformers model, our model) with identical weights, float32, eval mode."""
    from transformers import DeepseekV2Config, DeepseekV2ForCausalLM

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    hf_config = DeepseekV2Config(**BENCH_MODEL)
    hf_config._attn_implementation = "sdpa"
    hf = DeepseekV2ForCausalLM(hf_config).eval()
    return hf, ours_from(hf)


def ours_from(hf):
    """Our model with `hf`'s weights, through the real checkpoint path (save_pretrained, load_model)."""
    from model.loader import load_model

    with tempfile.TemporaryDirectory() as directory:
        hf.save_pretrained(directory)
        return load_model(directory).eval()


def make_prompts(w: Workload, vocab: int) -> list[list[int]]:
    g = torch.Generator().manual_seed(1)
    prompts = []
    for _ in range(w.num_groups):
        shared = torch.randint(2, vocab, (w.shared_len,), generator=g).tolist()
        for _ in range(w.prompts_per_group):
            prompts.append(shared + torch.randint(2, vocab, (w.tail_len,), generator=g).tolist())
    return prompts


def bench_engine(model, prompts: list[list[int]], w: Workload) -> dict:
    from serving import Engine, EngineConfig, SamplingParams

    engine = Engine(model, config=EngineConfig(max_num_seqs=512, max_num_batched_tokens=2048, cache_memory_bytes=1 << 30))
    engine.decode_graphs.wait_ready()  # time the engine as it serves, not its warm-up
    params = SamplingParams(n=w.n, temperature=1.0, top_p=0.95, max_tokens=w.new_tokens, seed=0, ignore_eos=True)
    start = time.perf_counter()
    for prompt in prompts:
        engine.add_request(prompt, params)
    outs = []
    while engine.has_unfinished_requests():
        step_start = time.perf_counter()
        outs.extend(engine.step())
        _log(f"engine step {engine.stats.num_steps}: {engine.stats.batch_sizes[-1]} seqs, "
             f"{engine.stats.batch_tokens[-1]} tokens, {time.perf_counter() - step_start:.2f}s")
    elapsed = time.perf_counter() - start
    generated = sum(len(s.token_ids) for o in outs for s in o.outputs)
    prompt_tokens = sum(len(p) for p in prompts)
    return dict(
        seconds=elapsed,
        generated=generated,
        tokens_per_s=generated / elapsed,
        hit_rate=engine.prefix_cache_stats.hit_rate,
        prompt_tokens=prompt_tokens,
        computed_prompt_tokens=engine.stats.num_computed_tokens - (generated - len(prompts) * w.n),
        steps=engine.stats.num_steps,
        max_batch=max(engine.stats.batch_sizes),
        mla_decode=engine.mla_decode_source,
    )


def _log(message: str) -> None:
    print(f"[engine_bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@torch.inference_mode()
def bench_transformers(hf, prompts: list[list[int]], w: Workload) -> dict:
    """One generate call per prompt. The calls are independent and identical in shape, so the
    rate over a subset of the prompts is the rate over all of them."""
    torch.manual_seed(0)
    start = time.perf_counter()
    generated = 0
    for i, prompt in enumerate(prompts):
        _log(f"transformers generate {i + 1}/{len(prompts)}")
        out = hf.generate(
            torch.tensor([prompt]),
            attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
            do_sample=True,
            temperature=1.0,
            top_p=0.95,
            top_k=0,
            num_return_sequences=w.n,
            max_new_tokens=w.new_tokens,
            min_new_tokens=w.new_tokens,
            pad_token_id=0,
        )
        generated += (out.shape[1] - len(prompt)) * out.shape[0]
    elapsed = time.perf_counter() - start
    return dict(seconds=elapsed, generated=generated, tokens_per_s=generated / elapsed)


def bench_decode_step(hf, model, w: Workload, repeats: int = 5) -> dict:
    """Median wall time of one decode step (batch 1) after a decode_context-token prompt."""
    from transformers import DynamicCache

    from serving import Engine, EngineConfig, SamplingParams

    g = torch.Generator().manual_seed(2)
    prompt = torch.randint(2, BENCH_MODEL["vocab_size"], (w.decode_context,), generator=g).tolist()

    engine = Engine(model, config=EngineConfig(cache_memory_bytes=1 << 30, max_num_batched_tokens=4096))
    engine.decode_graphs.wait_ready()
    engine.add_request(prompt, SamplingParams(temperature=0, max_tokens=repeats + 2, ignore_eos=True))
    engine.step()  # prefill (+ first token)
    engine.step()  # warm-up decode
    engine_times = []
    for _ in range(repeats):
        start = time.perf_counter()
        engine.step()
        engine_times.append(time.perf_counter() - start)

    hf_times = []
    with torch.inference_mode():
        cache = DynamicCache(config=hf.config)
        ids = torch.tensor([prompt])
        out = hf(input_ids=ids, past_key_values=cache, use_cache=True)
        token = out.logits[:, -1:].argmax(-1)
        for i in range(repeats + 1):
            position = torch.tensor([[w.decode_context + i]])
            start = time.perf_counter()
            out = hf(input_ids=token, past_key_values=out.past_key_values, position_ids=position, use_cache=True)
            token = out.logits[:, -1:].argmax(-1)
            if i:  # the first is a warm-up
                hf_times.append(time.perf_counter() - start)
    return dict(engine_ms=1e3 * statistics.median(engine_times), hf_ms=1e3 * statistics.median(hf_times))


# ---- the shipped checkpoint: one prompt sampled n times (the shape search sends) ----

SWEEP_NS = (1, 4, 16, 64)
SWEEP_PROMPT_LEN = 200
SWEEP_NEW_TOKENS = 32


def copy_bandwidth(megabytes: int = 256, repeats: int = 5) -> float:
    """Bytes/s moved by the best of `repeats` copies of a buffer far larger than the caches,
    counting read + write (STREAM's Copy convention)."""
    src = torch.ones(megabytes * (1 << 20) // 4)
    dst = torch.empty_like(src)
    dst.copy_(src)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        dst.copy_(src)
        best = min(best, time.perf_counter() - start)
    return 2 * src.numel() * src.element_size() / best


def _sweep_engine(model, prompt: list[int], n: int, mode: str, repeats: int = 3):
    from serving import Engine, EngineConfig, SamplingParams

    engine = Engine(model, config=EngineConfig(max_num_seqs=256, cache_memory_bytes=1 << 28, decode_mode=mode))
    engine.decode_graphs.wait_ready()
    params = SamplingParams(n=n, temperature=1.0, top_p=0.95, max_tokens=SWEEP_NEW_TOKENS, ignore_eos=True, seed=0)
    engine.generate([prompt], params)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        engine.flush()  # no prefix-cache hit: every run prefills its prompt
        start = time.perf_counter()
        engine.generate([prompt], params)
        best = min(best, time.perf_counter() - start)
    return n * SWEEP_NEW_TOKENS / best, engine


@torch.inference_mode()
def _transformers_seconds(hf, prompt: list[int], n: int, new_tokens: int, repeats: int = 2) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        hf.generate(
            torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long), do_sample=True,
            temperature=1.0, top_p=0.95, top_k=0, num_return_sequences=n, max_new_tokens=new_tokens,
            min_new_tokens=new_tokens, pad_token_id=0,
        )
        best = min(best, time.perf_counter() - start)
    return best


def _sweep_transformers(hf, prompt: list[int], n: int) -> float:
    return n * SWEEP_NEW_TOKENS / _transformers_seconds(hf, prompt, n, SWEEP_NEW_TOKENS)


def prefill_ms(model, hf, prompt: list[int]) -> tuple[float, float]:
    """(engine, transformers) milliseconds for the prompt and the first token at n = 1."""
    from serving import Engine, EngineConfig, SamplingParams

    engine = Engine(model, config=EngineConfig(cache_memory_bytes=1 << 28, decode_mode="eager"))
    best = float("inf")
    for _ in range(3):
        engine.flush()
        engine.add_request(prompt, SamplingParams(temperature=1.0, top_p=0.95, max_tokens=1, ignore_eos=True, seed=0))
        start = time.perf_counter()
        engine.step()
        best = min(best, time.perf_counter() - start)
    return 1e3 * best, 1e3 * _transformers_seconds(hf, prompt, 1, 1, repeats=3)


def decode_step_parts(model, prompt: list[int], mode: str, steps: int = 16, rounds: int = 3) -> dict[str, float]:
    """Milliseconds per decode step (n = 1) by part, from the engine's own step timers
    (EngineStats.seconds; a profiler would distort steps this short)."""
    from serving import Engine, EngineConfig, SamplingParams

    engine = Engine(model, config=EngineConfig(cache_memory_bytes=1 << 28, decode_mode=mode))
    engine.decode_graphs.wait_ready()
    engine.add_request(prompt, SamplingParams(temperature=1.0, top_p=0.95, max_tokens=rounds * steps + 8, ignore_eos=True, seed=0))
    for _ in range(4):  # prefill, then warm decode steps
        engine.step()
    best: dict[str, float] | None = None
    for _ in range(rounds):  # the quietest round (the machine may be shared)
        before = dict(engine.stats.seconds)
        start = time.perf_counter()
        for _ in range(steps):
            engine.step()
        total = time.perf_counter() - start
        out = {part: 1e3 * (engine.stats.seconds[part] - before[part]) / steps for part in STEP_PARTS}
        out["total"] = 1e3 * total / steps
        if best is None or out["total"] < best["total"]:
            best = out
    return best


def median_decode_step_ms(model, prompt: list[int], mode: str, steps: int = 24) -> float:
    from serving import Engine, EngineConfig, SamplingParams

    engine = Engine(model, config=EngineConfig(cache_memory_bytes=1 << 28, decode_mode=mode))
    engine.decode_graphs.wait_ready()
    engine.add_request(prompt, SamplingParams(temperature=1.0, top_p=0.95, max_tokens=steps + 8, ignore_eos=True, seed=0))
    for _ in range(4):
        engine.step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        engine.step()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def greedy_parity(model, prompt: list[int], new_tokens: int = 64) -> tuple[bool, float]:
    """(greedy tokens identical compiled vs eager, max |logprob difference|) on the prompt."""
    from serving import Engine, EngineConfig, SamplingParams

    params = SamplingParams(temperature=0, max_tokens=new_tokens, ignore_eos=True, logprobs=0)
    outs = {}
    for mode in ("compile", "eager"):
        engine = Engine(model, config=EngineConfig(cache_memory_bytes=1 << 28, decode_mode=mode))
        engine.decode_graphs.wait_ready()
        outs[mode] = engine.generate([prompt], params)[0].outputs[0]
    same = outs["compile"].token_ids == outs["eager"].token_ids
    diff = max(abs(a - b) for a, b in zip(outs["compile"].logprobs, outs["eager"].logprobs))
    return same, diff


def sweep(threads: int, checkpoint: str | None = None) -> str:
    """The shipped checkpoint, one 200-token prompt sampled n times, engine (compiled and eager)
    vs transformers' generate in this process; the memory-bound limit; where a step's time goes."""
    from transformers import AutoModelForCausalLM

    from model.loader import load_model

    torch.set_num_threads(threads)
    checkpoint = checkpoint or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "checkpoints", "policy")
    model = load_model(checkpoint).eval()
    hf = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.float32).eval()
    vocab = model.config.vocab_size
    prompt = torch.randint(2, vocab, (SWEEP_PROMPT_LEN,), generator=torch.Generator().manual_seed(4)).tolist()
    with torch.inference_mode():
        ids = torch.tensor([prompt[:32]])
        diff = float((hf(ids).logits - model(ids)).abs().max())
    params = sum(p.numel() for p in model.parameters())
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    rows = []
    compiled_engine = None
    for n in SWEEP_NS:
        _log(f"sweep n={n}")
        fast, compiled_engine = _sweep_engine(model, prompt, n, "compile")
        eager, _ = _sweep_engine(model, prompt, n, "eager")
        reference = _sweep_transformers(hf, prompt, n)
        rows.append((n, fast, eager, reference))
    bandwidth = copy_bandwidth()
    limit_ms = 1e3 * weight_bytes / bandwidth
    step_ms = median_decode_step_ms(model, prompt, "compile")
    eager_step_ms = median_decode_step_ms(model, prompt, "eager")
    profiles = {mode: decode_step_parts(model, prompt, mode) for mode in ("eager", "compile")}
    engine_prefill, hf_prefill = prefill_ms(model, hf, prompt)
    same, logprob_diff = greedy_parity(model, prompt)
    hf_total_ms = 1e3 * SWEEP_NEW_TOKENS / rows[0][3]
    hf_decode_ms = (hf_total_ms - hf_prefill) / (SWEEP_NEW_TOKENS - 1)
    lines = [
        f"Shipped checkpoint (`checkpoints/policy`, {params / 1e6:.1f}M parameters, {weight_bytes / 1e6:.1f} MB float32; "
        f"max |logit diff| vs transformers {diff:.1e}), one {SWEEP_PROMPT_LEN}-token prompt sampled n times, "
        f"{SWEEP_NEW_TOKENS} new tokens (temperature 1, top_p 0.95, EOS ignored), {threads} torch thread(s). Engine: decode "
        f"steps compiled (`decode_mode=compile`, {compiled_engine.decode_graphs.describe()}) and eager; transformers: one "
        "`generate` with num_return_sequences=n. Best of 3 (engine) / 2 (transformers) runs, all in this process.",
        "",
        "| n | engine tok/s (compiled) | engine tok/s (eager) | transformers tok/s | compiled ÷ transformers (target) |",
        "|---|---|---|---|---|",
    ]
    for n, fast, eager, reference in rows:
        target = ">= 3x" if n == 1 else (">= 5x" if n >= 16 else "")
        lines.append(f"| {n} | {fast:,.0f} | {eager:,.0f} | {reference:,.0f} | {fast / reference:.1f}x ({target or '-'}) |")
    lines += [
        "",
        f"Memory-bound limit of a decode step: {weight_bytes / 1e6:.1f} MB of weights ÷ {bandwidth / 1e9:.1f} GB/s measured copy "
        f"bandwidth (256 MB buffer, read + write) = {limit_ms:.2f} ms. Measured decode step at n = 1 (median of 24, whole "
        f"`Engine.step`): compiled {step_ms:.2f} ms = {step_ms / limit_ms:.1f}x the limit (target <= 3x); eager "
        f"{eager_step_ms:.2f} ms = {eager_step_ms / limit_ms:.1f}x.",
        "",
        f"At n = 1 the run is prefill plus {SWEEP_NEW_TOKENS - 1} decode steps. The {SWEEP_PROMPT_LEN}-token prefill "
        f"(+ first token) takes {engine_prefill:.1f} ms in the engine and {hf_prefill:.1f} ms in transformers (the same "
        f"matmuls; compute-bound), a decode step {step_ms:.2f} ms against transformers' {hf_decode_ms:.2f} ms "
        f"({hf_decode_ms / step_ms:.1f}x).",
        "",
        f"Greedy, 64 tokens from the same prompt: compiled and eager tokens {'identical' if same else 'DIFFERENT'}, "
        f"logprobs within {logprob_diff:.1e}.",
        "",
        "Where a decode step's time goes (n = 1, ms per step, mean of 16 steps, quietest of 3 rounds, from the engine's step timers):",
        "",
        "| part | eager | compiled |",
        "|---|---|---|",
    ]
    names = {"schedule": "schedule (scheduler, block allocation)", "forward": "forward (inputs, model, attention)",
             "sample": "sampling (one batched call)", "bookkeeping": "bookkeeping (append token, stop checks)",
             "total": "whole step"}
    for key in (*STEP_PARTS, "total"):
        lines.append(f"| {names[key]} | {profiles['eager'][key]:.2f} | {profiles['compile'][key]:.2f} |")
    return "\n".join(lines)


def same_weights_check(hf, model) -> float:
    """Max |logit difference| of the two models on one random 16-token input."""
    ids = torch.randint(2, hf.config.vocab_size, (1, 16), generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        return float((hf(ids).logits - model(ids)).abs().max())


def main(quick: bool = False, threads: int | None = None, groups: int | None = None, hf_prompts: int | None = 4) -> str:
    """Run everything; returns the markdown section (also printed)."""
    threads = threads or torch.get_num_threads()
    w = Workload() if not quick else Workload(num_groups=2, prompts_per_group=2, shared_len=40, tail_len=20, n=4, new_tokens=8, decode_context=256)
    if groups:
        w.num_groups = groups
    hf, model = build_models(threads)
    params = sum(p.numel() for p in model.parameters())
    diff = same_weights_check(hf, model)
    prompts = make_prompts(w, BENCH_MODEL["vocab_size"])
    _log("engine workload")
    engine = bench_engine(model, prompts, w)
    _log(f"engine: {engine}")
    # one prompt from each group first, so a subset still covers every group
    order = [g * w.prompts_per_group + k for k in range(w.prompts_per_group) for g in range(w.num_groups)]
    hf_subset = [prompts[i] for i in order[: hf_prompts or len(prompts)]]
    reference = bench_transformers(hf, hf_subset, w)
    _log(f"transformers: {reference}")
    decode = bench_decode_step(hf, model, w)
    _log(f"decode step: {decode}")
    ratio = engine["tokens_per_s"] / reference["tokens_per_s"]
    decode_ratio = decode["hf_ms"] / decode["engine_ms"]
    lines = [
        f"Model: random DeepSeek-V2-Lite-shaped, {params / 1e6:.1f}M parameters ({BENCH_MODEL['num_hidden_layers']} layers, "
        f"hidden {BENCH_MODEL['hidden_size']}, {BENCH_MODEL['num_attention_heads']} heads, kv_lora_rank {BENCH_MODEL['kv_lora_rank']}, "
        f"rope {BENCH_MODEL['qk_rope_head_dim']}, {BENCH_MODEL['n_routed_experts']} routed experts top-{BENCH_MODEL['num_experts_per_tok']} "
        f"+ {BENCH_MODEL['n_shared_experts']} shared, vocab {BENCH_MODEL['vocab_size']}), float32, CPU, {threads} torch threads. "
        f"Same weights in both (max |logit diff| {diff:.1e}).",
        "",
        f"Workload: {w.num_groups * w.prompts_per_group} prompts of {w.shared_len + w.tail_len} tokens, {w.shared_len} shared in "
        f"groups of {w.prompts_per_group}; n={w.n} samples each (temperature 1, top_p 0.95); {w.new_tokens} new tokens. "
        f"transformers: one `generate` per prompt with num_return_sequences={w.n}"
        + (f", timed on {len(hf_subset)} of the {len(prompts)} prompts (one per group; the calls are independent and "
           "the same shape, so its tokens/s over them is its rate for the whole workload)." if len(hf_subset) < len(prompts) else "."),
        "",
        "| measure | engine | transformers | ratio (target) |",
        "|---|---|---|---|",
        f"| generated tokens/s | {engine['tokens_per_s']:.1f} | {reference['tokens_per_s']:.1f} | {ratio:.1f}x (>= 5x) |",
        f"| wall time (s): engine all {len(prompts)} prompts, transformers {len(hf_subset)} | {engine['seconds']:.1f} | {reference['seconds']:.1f} | |",
        f"| one decode step, batch 1, {w.decode_context}-token context (ms) | {decode['engine_ms']:.1f} | {decode['hf_ms']:.1f} | {decode_ratio:.1f}x (>= 3x) |",
        "",
        f"Engine: prefix-cache hit rate {engine['hit_rate']:.1%} of looked-up prompt tokens; "
        f"{engine['computed_prompt_tokens']} prompt tokens computed for {engine['prompt_tokens']} prompt tokens "
        f"({w.num_groups * w.prompts_per_group * w.n} samples); {engine['steps']} steps, largest batch {engine['max_batch']} sequences; "
        f"decode attention through `{engine['mla_decode']}`.",
    ]
    lines.append("")
    lines.append(
        f"Load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores. On a shared machine the absolute "
        "figures are approximate; the ratios (same machine, same run) are what count."
    )
    if not quick:
        lines += ["", "#### One prompt, n samples (the shape search sends)", "", sweep(threads)]
    text = "\n".join(lines)
    print(text)
    return text


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny workload to check the bench runs")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--groups", type=int, default=None, help="number of prefix groups (default 4)")
    parser.add_argument("--hf-prompts", type=int, default=4, help="prompts timed with transformers (0 = all)")
    parser.add_argument("--sweep-only", action="store_true", help="only the shipped checkpoint's n-sweep")
    args = parser.parse_args()
    if args.sweep_only:
        print(sweep(args.threads or torch.get_num_threads()))
        raise SystemExit(0)
    main(quick=args.quick, threads=args.threads, groups=args.groups, hf_prompts=args.hf_prompts)
