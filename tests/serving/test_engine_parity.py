"""The engine against a plain no-cache greedy loop of the same model (tiny DeepSeek-V2 MoE+MLA)."""

from __future__ import annotations

import math

import pytest
import torch

from serving import Engine, EngineConfig, SamplingParams

GREEDY = dict(temperature=0.0, ignore_eos=True)


def _check_against_reference(model, prompts, outputs, max_tokens, reference):
    for prompt, out in zip(prompts, outputs):
        expected, _ = reference(model, prompt, max_tokens)
        for sample in out.outputs:
            assert sample.token_ids == expected
            assert sample.finish_reason == "length"


def test_mixed_lengths_with_chunked_prefill_match_plain_loop(model64, reference, make_prompts):
    prompts = make_prompts([1, 5, 17, 33, 50], seed=1)
    # 16-token steps: the 33- and 50-token prompts are prefilled in chunks, mixed with decodes
    engine = Engine(model64, config=EngineConfig(block_size=4, num_blocks=128, max_num_batched_tokens=16))
    outs = engine.generate(prompts, SamplingParams(max_tokens=10, **GREEDY))
    _check_against_reference(model64, prompts, outs, 10, reference)
    assert max(engine.stats.batch_tokens) == 16
    assert max(engine.stats.batch_sizes) > 1


def test_float32_model_matches_plain_loop(model32, reference, make_prompts):
    prompts = make_prompts([3, 12, 29], seed=2)
    engine = Engine(model32, config=EngineConfig(block_size=8, num_blocks=64))
    outs = engine.generate(prompts, SamplingParams(max_tokens=8, **GREEDY))
    _check_against_reference(model32, prompts, outs, 8, reference)


def test_prefix_cache_hits_give_identical_output(model64, reference, make_prompts):
    (shared,) = make_prompts([24], seed=3)
    tails = make_prompts([3, 7, 1], seed=4)
    prompts = [shared + t for t in tails]
    engine = Engine(model64, config=EngineConfig(block_size=4, num_blocks=128))
    first = engine.generate(prompts, SamplingParams(max_tokens=6, **GREEDY))
    # the three prompts arrived together: the shared 24 tokens were computed once, the other two
    # prompts waited a step and hit the cache
    assert sorted(o.num_cached_tokens for o in first) == [0, 24, 24]
    again = engine.generate(prompts, SamplingParams(max_tokens=6, **GREEDY))
    assert all(o.num_cached_tokens >= 24 for o in again)
    stats = engine.prefix_cache_stats
    assert stats.hit_tokens > 0 and 0 < stats.hit_rate < 1
    _check_against_reference(model64, prompts, first, 6, reference)
    _check_against_reference(model64, prompts, again, 6, reference)


def test_n_samples_share_the_prompt_and_match_plain_loop(model64, reference, make_prompts):
    prompts = make_prompts([10, 19], seed=5)  # 10 and 19: partial last blocks get copied at fork
    engine = Engine(model64, config=EngineConfig(block_size=4, num_blocks=128))
    outs = engine.generate(prompts, SamplingParams(n=3, max_tokens=7, **GREEDY))
    assert [len(o.outputs) for o in outs] == [3, 3]
    assert [s.index for s in outs[0].outputs] == [0, 1, 2]
    _check_against_reference(model64, prompts, outs, 7, reference)
    # the prompt was computed once per request, not once per sample
    prompt_tokens = sum(len(p) for p in prompts)
    generated = 2 * 3 * 7
    assert engine.stats.num_computed_tokens <= prompt_tokens + generated


def test_preemption_by_recompute_under_a_tiny_pool(model64, reference, make_prompts):
    prompts = make_prompts([9, 14, 6, 11], seed=6)
    # 12 blocks of 4 tokens: each sequence alone needs <= 6 blocks, all four together need ~20
    engine = Engine(model64, config=EngineConfig(block_size=4, num_blocks=12))
    outs = engine.generate(prompts, SamplingParams(n=2, max_tokens=10, **GREEDY))
    assert engine.num_preemptions > 0
    _check_against_reference(model64, prompts, outs, 10, reference)
    assert engine.block_manager.allocator.num_free + engine.block_manager.prefix_cache.num_blocks == 12


def test_logprobs_match_log_softmax_of_the_no_cache_model(model64, model32, reference, make_prompts):
    for model in (model64, model32):
        prompts = make_prompts([7, 21], seed=7)
        engine = Engine(model, config=EngineConfig(block_size=4, num_blocks=64))
        outs = engine.generate(prompts, SamplingParams(max_tokens=6, logprobs=3, **GREEDY))
        for prompt, out in zip(prompts, outs):
            tokens, ref_logprobs = reference(model, prompt, 6)
            sample = out.outputs[0]
            assert sample.token_ids == tokens
            assert max(abs(a - b) for a, b in zip(sample.logprobs, ref_logprobs)) <= 1e-4
            assert math.isclose(sample.cumulative_logprob, sum(ref_logprobs), abs_tol=1e-4)
            for token, top in zip(sample.token_ids, sample.top_logprobs):
                assert len(top) == 3 and max(top, key=top.get) == token


def test_sampled_logprobs_are_raw_model_logprobs(model64, make_prompts):
    (prompt,) = make_prompts([9], seed=8)
    engine = Engine(model64, config=EngineConfig(block_size=4, num_blocks=64))
    (out,) = engine.generate([prompt], SamplingParams(temperature=1.3, top_k=20, seed=3, max_tokens=5, logprobs=0, ignore_eos=True))
    ids = list(prompt)
    with torch.inference_mode():
        for token, logprob in zip(out.outputs[0].token_ids, out.outputs[0].logprobs):
            expected = torch.log_softmax(model64(torch.tensor([ids]))[0, -1].double(), -1)[token].item()
            assert abs(logprob - expected) <= 1e-4
            ids.append(token)


def test_eos_stops_unless_ignored(model64, make_prompts):
    (prompt,) = make_prompts([8], seed=9)
    engine = Engine(model64, config=EngineConfig(block_size=4, num_blocks=64))
    (free,) = engine.generate([prompt], SamplingParams(temperature=0, max_tokens=12, ignore_eos=True))
    first = free.outputs[0].token_ids[3]
    # declare the 4th generated token a stop token: generation ends right after it
    (stopped,) = engine.generate([prompt], SamplingParams(temperature=0, max_tokens=12, stop_token_ids=[first]))
    k = free.outputs[0].token_ids.index(first)
    assert stopped.outputs[0].token_ids == free.outputs[0].token_ids[: k + 1]
    assert stopped.outputs[0].finish_reason == "stop"


@pytest.mark.parametrize("block_size", [1, 16])
def test_block_size_extremes(model64, reference, make_prompts, block_size):
    prompts = make_prompts([5, 18], seed=10)
    engine = Engine(model64, config=EngineConfig(block_size=block_size, num_blocks=256 // block_size + 8))
    outs = engine.generate(prompts, SamplingParams(max_tokens=5, **GREEDY))
    _check_against_reference(model64, prompts, outs, 5, reference)
