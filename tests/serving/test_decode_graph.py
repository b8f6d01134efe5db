"""The fast decode step (serving/decode_graph.py): bucketing, padding, mode choice, the
compiled path's parity with eager and the no-cache loop, and the clean fallback to eager."""

from __future__ import annotations

import pytest
import torch

from serving import Engine, EngineConfig, SamplingParams, decode_graph, sampler
from serving.attention import DecodeContext
from serving.decode_graph import MODE_ENV, batch_buckets, bucket_for, pad_rows, resolve_mode

CPU = torch.device("cpu")


def test_batch_buckets_cover_every_batch_size_up_to_the_limit():
    assert batch_buckets(256)[:6] == [1, 2, 4, 8, 16, 32]
    assert batch_buckets(256)[-1] == 256 and all(b % 16 == 0 for b in batch_buckets(256)[4:])
    assert batch_buckets(1) == [1]
    assert batch_buckets(20) == [1, 2, 4, 8, 16, 20]
    buckets = batch_buckets(100)
    for batch in range(1, 101):
        size = bucket_for(batch, buckets)
        assert size >= batch and (buckets.index(size) == 0 or buckets[buckets.index(size) - 1] < batch)
    assert bucket_for(101, buckets) is None


def test_mode_resolution(monkeypatch):
    monkeypatch.delenv(MODE_ENV, raising=False)
    assert resolve_mode("auto", CPU) == "compile"
    assert resolve_mode("auto", torch.device("cuda")) == "cuda_graph"
    assert resolve_mode("cuda_graph", CPU) == "compile"  # no GPU: the CPU's fast path
    assert resolve_mode("eager", torch.device("cuda")) == "eager"
    monkeypatch.setenv(MODE_ENV, "eager")
    assert resolve_mode("auto", CPU) == "eager"  # the env chooses only for auto
    assert resolve_mode("compile", CPU) == "compile"
    monkeypatch.setenv(MODE_ENV, "fast")
    with pytest.raises(ValueError, match=f"^{MODE_ENV}: expected one of"):
        resolve_mode("auto", CPU)
    with pytest.raises(ValueError, match="^decode_mode:"):
        EngineConfig(decode_mode="turbo")


def test_pad_rows_fills_a_bucket_with_rows_that_touch_only_the_scratch_block():
    ids, pos, slots, table, lens = pad_rows(
        [5, 6], [9, 3], [41, 13], [[2, 0, 7], [3]], [10, 4], size=4, width=5, scratch_slot=80, scratch_block=20
    )
    assert ids.tolist() == [5, 6, 0, 0] and pos.tolist() == [9, 3, 0, 0]
    assert slots.tolist() == [41, 13, 80, 80] and lens.tolist() == [10, 4, 1, 1]
    assert table.tolist() == [[2, 0, 7, 20, 20], [3, 20, 20, 20, 20], [20] * 5, [20] * 5]
    with pytest.raises(ValueError, match="do not fit"):
        pad_rows([1] * 3, [0] * 3, [0] * 3, [[0]] * 3, [1] * 3, size=2, width=1, scratch_slot=0, scratch_block=0)
    with pytest.raises(ValueError, match="exceeds the captured width"):
        pad_rows([1], [0], [0], [[0, 1, 2]], [1], size=1, width=2, scratch_slot=0, scratch_block=0)


@torch.inference_mode()
def test_a_padded_decode_context_gives_the_eager_logits_and_leaves_live_blocks_alone(model32, make_prompts):
    """What a captured CUDA graph replays, run eager on CPU: real rows padded to a bucket."""
    engine = Engine(model32, config=EngineConfig(block_size=4, num_blocks=64, decode_mode="eager"))
    prompts = make_prompts([5, 9, 3], seed=31)
    for p in prompts:
        engine.add_request(p, SamplingParams(temperature=0, max_tokens=4, ignore_eos=True))
    engine.step()  # prefill + first token of each
    batch = engine.scheduler.schedule()
    assert all(item.num_new_tokens == 1 for item in batch)
    before = [layer.clone() for layer in engine.pool.layers]
    expected = engine.runner.run(batch)  # the general (AttentionContext) path
    written = [layer.clone() for layer in engine.pool.layers]
    for layer, saved in zip(engine.pool.layers, before):
        layer.copy_(saved)
    rows = engine.runner.decode_inputs(batch)
    padded = pad_rows(*rows, size=8, width=6, scratch_slot=engine.pool.scratch_slot, scratch_block=engine.pool.num_blocks)
    ids, pos, slots, table, lens = padded
    logits = model32(ids[None], positions=pos[None], cache=DecodeContext(engine.pool.layers, slots, table, lens))[0]
    torch.testing.assert_close(logits[: len(batch)], expected, atol=1e-4, rtol=1e-4)
    for layer, reference in zip(engine.pool.layers, written):  # live blocks hold exactly the real rows
        torch.testing.assert_close(layer[:-1], reference[:-1])


@pytest.fixture(scope="module")
def compiled_engine(model32):
    engine = Engine(model32, config=EngineConfig(block_size=4, num_blocks=128, decode_mode="compile"))
    assert engine.decode_graphs.wait_ready(timeout=600)
    assert engine.decode_graphs.describe() == "compile", engine.decode_graphs.describe()
    return engine


def test_compiled_greedy_is_token_identical_to_eager_and_the_no_cache_loop(compiled_engine, model32, reference, make_prompts):
    eager = Engine(model32, config=EngineConfig(block_size=4, num_blocks=128, decode_mode="eager"))
    prompts = make_prompts([3, 7, 12, 5, 1, 9], seed=32)
    params = SamplingParams(temperature=0, max_tokens=10, ignore_eos=True, logprobs=0)
    fast_before = compiled_engine.decode_graphs.num_fast_steps
    got = compiled_engine.generate(prompts, params)
    want = eager.generate(prompts, params)
    assert compiled_engine.decode_graphs.num_fast_steps > fast_before  # the compiled step really ran
    for prompt, g, w in zip(prompts, got, want):
        ref_tokens, ref_logprobs = reference(model32, prompt, 10)
        assert g.outputs[0].token_ids == w.outputs[0].token_ids == ref_tokens
        assert g.outputs[0].logprobs == pytest.approx(w.outputs[0].logprobs, abs=1e-4)
        assert g.outputs[0].logprobs == pytest.approx(ref_logprobs, abs=1e-4)


def test_compiled_sampling_with_n_samples_matches_eager(compiled_engine, model32, make_prompts):
    eager = Engine(model32, config=EngineConfig(block_size=4, num_blocks=128, decode_mode="eager"))
    prompt = make_prompts([11], seed=33)[0]
    params = SamplingParams(n=6, temperature=1.0, top_p=0.9, max_tokens=8, ignore_eos=True, seed=5, logprobs=0)
    assert compiled_engine.decode_graphs.drawer is not None  # sampling runs compiled too
    fast_before = compiled_engine.decode_graphs.num_fast_steps
    got, want = compiled_engine.generate([prompt], params)[0], eager.generate([prompt], params)[0]
    assert compiled_engine.decode_graphs.drawer.refused == 0  # prefill rows (the separate compiled drawer)
    # every decode step of the 6 samples ran compiled, drawing in the same call as its forward
    assert compiled_engine.decode_graphs.num_fast_steps - fast_before == params.max_tokens - 1
    assert [s.token_ids for s in got.outputs] == [s.token_ids for s in want.outputs]
    for g, w in zip(got.outputs, want.outputs):
        assert g.logprobs == pytest.approx(w.logprobs, abs=1e-4)


def test_compile_failure_falls_back_to_eager_and_says_why(monkeypatch, model32, reference, make_prompts):
    def broken(*args, **kwargs):
        raise RuntimeError("no C++ compiler here")

    monkeypatch.setattr(torch, "compile", broken)
    monkeypatch.setattr(decode_graph, "_COMPILED", None)  # not the one another test compiled
    engine = Engine(model32, config=EngineConfig(block_size=4, num_blocks=64, decode_mode="compile"))
    engine.decode_graphs.wait_ready(timeout=60)
    assert "unavailable" in engine.decode_graphs.describe() and "no C++ compiler here" in engine.decode_graphs.describe()
    prompt = make_prompts([6], seed=34)[0]
    out = engine.generate([prompt], SamplingParams(temperature=0, max_tokens=5, ignore_eos=True))[0]
    assert out.outputs[0].token_ids == reference(model32, prompt, 5)[0]
    assert engine.decode_graphs.num_fast_steps == 0 and engine.decode_graphs.num_eager_steps > 0
    assert engine.decode_graphs.drawer is None


def test_a_second_compiled_engine_writes_only_its_own_pool(compiled_engine, model32, reference, make_prompts):
    """Engines share the compiled code (one code object); each must read and write its own pool."""
    other = Engine(model32, config=EngineConfig(block_size=4, num_blocks=96, decode_mode="compile"))
    assert other.decode_graphs.wait_ready(timeout=600) and other.decode_graphs.describe() == "compile"
    first_pool = [layer.clone() for layer in compiled_engine.pool.layers]
    prompts = make_prompts([4, 9], seed=35)
    params = SamplingParams(temperature=0, max_tokens=8, ignore_eos=True)
    fast_before = other.decode_graphs.num_fast_steps
    for prompt, out in zip(prompts, other.generate(prompts, params)):
        assert out.outputs[0].token_ids == reference(model32, prompt, 8)[0]
    assert other.decode_graphs.num_fast_steps > fast_before
    for layer, saved in zip(compiled_engine.pool.layers, first_pool):
        assert torch.equal(layer, saved)


def test_compiled_sampling_draws_what_eager_sampling_draws(compiled_engine):
    """Greedy, top-k, top-p, untruncated, peaked and flat rows, at batch sizes the warm-up did not
    use: the same tokens, settled rows and logprobs (within 1e-5)."""
    drawer = compiled_engine.decode_graphs.drawer
    vocab = compiled_engine.model.config.vocab_size
    for batch in (1, 3, 12, 33):
        inputs = sampler.drawer_inputs(batch, vocab, seed=100 + batch)
        with torch.inference_mode():  # as the engine samples
            want, got = sampler.draw_candidates(*inputs), drawer.compiled(*inputs)
        assert torch.equal(got[0], want[0]) and torch.equal(got[2], want[2])
        assert torch.allclose(got[1], want[1], atol=1e-5)
        assert bool(want[2].any()) and (batch < 3 or not bool(want[2].all()))  # both paths exercised
