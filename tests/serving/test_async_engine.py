"""Many concurrent callers, one step loop: correct results, real batching, isolated errors."""

from __future__ import annotations

import asyncio
import threading

import pytest
import torch

from serving import AsyncEngine, EngineConfig, RequestFailedError, SamplingParams

GREEDY = SamplingParams(temperature=0, max_tokens=6, ignore_eos=True)


@pytest.fixture
def async_engine(model64):
    engine = AsyncEngine(model64, config=EngineConfig(block_size=4, num_blocks=256))
    yield engine
    engine.shutdown()


def test_concurrent_asyncio_callers_are_batched_and_correct(async_engine, model64, reference, make_prompts):
    prompts = make_prompts([3, 8, 13, 5, 11, 2, 9, 16], seed=21)

    async def main():
        return await asyncio.gather(*(async_engine.submit(p, GREEDY) for p in prompts))

    outs = asyncio.run(main())
    for prompt, out in zip(prompts, outs):
        assert out.prompt_token_ids == prompt
        assert out.outputs[0].token_ids == reference(model64, prompt, 6)[0]
    # the eight callers shared steps: some step ran several of their sequences at once
    assert max(async_engine.stats.batch_sizes) >= 4


def test_threads_and_a_bad_caller(async_engine, model64, reference, make_prompts):
    prompts = make_prompts([4, 7, 10, 6, 12, 5], seed=22)
    results: dict[int, object] = {}
    start = threading.Barrier(len(prompts) + 1)

    def call(i: int) -> None:
        start.wait()
        if i == 2:
            try:
                async_engine.submit_sync(prompts[i], SamplingParams(top_p=0))
            except ValueError as e:
                results[i] = e
            return
        results[i] = async_engine.submit_sync(prompts[i], GREEDY, timeout=120)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    with pytest.raises(ValueError, match="^prompt:"):
        async_engine.submit_sync([], GREEDY)
    start.wait()
    for t in threads:
        t.join()
    assert isinstance(results[2], ValueError) and str(results[2]).startswith("top_p:")
    for i, prompt in enumerate(prompts):
        if i != 2:
            assert results[i].outputs[0].token_ids == reference(model64, prompt, 6)[0]


def test_requests_joining_a_running_batch(async_engine, model64, reference, make_prompts):
    long_prompt, late = make_prompts([6, 5], seed=23)

    async def main():
        first = asyncio.ensure_future(async_engine.submit(long_prompt, SamplingParams(temperature=0, max_tokens=40, ignore_eos=True)))
        while async_engine.stats.num_steps < 3:  # the first request is decoding
            await asyncio.sleep(0.001)
        second = await async_engine.submit(late, GREEDY)
        assert not first.done()  # the late request joined and left while the first was running
        return await first, second

    first, second = asyncio.run(main())
    assert first.outputs[0].token_ids == reference(model64, long_prompt, 40)[0]
    assert second.outputs[0].token_ids == reference(model64, late, 6)[0]
    assert 2 in async_engine.stats.batch_sizes


def test_flush_and_shutdown(model64, make_prompts):
    engine = AsyncEngine(model64, config=EngineConfig(block_size=4, num_blocks=64))
    (prompt,) = make_prompts([9], seed=24)
    engine.submit_sync(prompt, GREEDY)
    assert engine.submit_sync(prompt, GREEDY).num_cached_tokens == 8
    engine.flush()
    assert engine.submit_sync(prompt, GREEDY).num_cached_tokens == 0
    engine.shutdown()
    with pytest.raises(RuntimeError, match="shut down"):
        engine.submit_sync(prompt, GREEDY)


class _FailsOnce(torch.nn.Module):
    """Delegates to a model but raises on its first forward (a crash inside one step)."""

    def __init__(self, model):
        super().__init__()
        self.inner = model
        self.config = model.config
        self.failed = False

    def forward(self, input_ids, positions=None, cache=None, logit_rows=None):
        if not self.failed:
            self.failed = True
            raise RuntimeError("simulated device error")
        return self.inner(input_ids, positions=positions, cache=cache, logit_rows=logit_rows)


def test_a_failing_step_fails_those_requests_and_the_loop_keeps_serving(model64, reference, make_prompts):
    engine = AsyncEngine(_FailsOnce(model64), config=EngineConfig(block_size=4, num_blocks=64))
    first, second = make_prompts([6, 8], seed=25)
    try:
        with pytest.raises(RuntimeError, match="failed inside the engine step.*simulated device error"):
            engine.submit_sync(first, GREEDY, timeout=60)
        assert engine.engine.block_manager.allocator.num_free + engine.engine.block_manager.prefix_cache.num_blocks == 64
        out = engine.submit_sync(second, GREEDY, timeout=60)
        assert out.outputs[0].token_ids == reference(model64, second, 6)[0]
    finally:
        engine.shutdown()


POISON = 77  # a token id the faulty model below cannot process


class _FailsOnPoison(torch.nn.Module):
    """Delegates to a model but raises whenever a step feeds the POISON token at position 3 (a
    fault that belongs to one request: whatever batch it lands in, its prompt triggers it)."""

    def __init__(self, model):
        super().__init__()
        self.inner = model
        self.config = model.config

    def forward(self, input_ids, positions=None, cache=None, logit_rows=None):
        if positions is not None and bool(((input_ids == POISON) & (positions == 3)).any()):
            raise RuntimeError("cannot process token 77")
        return self.inner(input_ids, positions=positions, cache=cache, logit_rows=logit_rows)


def test_a_request_whose_step_raises_fails_alone_and_the_others_complete(model64, reference, make_prompts):
    engine = AsyncEngine(_FailsOnPoison(model64), config=EngineConfig(block_size=4, num_blocks=128))
    prompts = [p for p in make_prompts([5, 9, 7, 11, 6], seed=26)]
    prompts = [[t if t != POISON else POISON + 1 for t in p] for p in prompts]
    poisoned = prompts[2][:3] + [POISON] + prompts[2][3:]
    start = threading.Barrier(len(prompts) + 1)
    results: dict[int, object] = {}

    def call(i: int, prompt: list[int]) -> None:
        start.wait()
        try:
            results[i] = engine.submit_sync(prompt, GREEDY, timeout=120)
        except RuntimeError as e:
            results[i] = e

    jobs = [(i, p) for i, p in enumerate(prompts) if i != 2] + [(2, poisoned)]
    threads = [threading.Thread(target=call, args=job) for job in jobs]
    try:
        for t in threads:
            t.start()
        start.wait()
        for t in threads:
            t.join()
        failure = results[2]
        assert isinstance(failure, RequestFailedError)
        assert "failed inside the engine step" in str(failure) and "cannot process token 77" in str(failure)
        for i, prompt in enumerate(prompts):
            if i != 2:
                assert results[i].outputs[0].token_ids == reference(model64, prompt, 6)[0]
        assert max(engine.stats.batch_sizes) >= 2  # the poisoned request did share steps with others
        # nothing leaked, and the engine keeps serving new requests
        manager = engine.engine.block_manager
        assert manager.allocator.num_free + manager.prefix_cache.num_blocks == 128
        fresh = make_prompts([8], seed=27)[0]
        fresh = [t if t != POISON else POISON + 1 for t in fresh]
        assert engine.submit_sync(fresh, GREEDY, timeout=60).outputs[0].token_ids == reference(model64, fresh, 6)[0]
    finally:
        engine.shutdown()


def test_generate_raises_the_failed_requests_error_and_leaves_the_engine_clean(model64, make_prompts):
    from serving import Engine

    engine = Engine(_FailsOnPoison(model64), config=EngineConfig(block_size=4, num_blocks=64))
    good = [t if t != POISON else POISON + 1 for t in make_prompts([6], seed=28)[0]]
    with pytest.raises(RequestFailedError, match="cannot process token 77") as caught:
        engine.generate([good, [3, 5, 2, POISON, 4]], GREEDY)
    assert caught.value.request_id == "req-1"
    assert not engine.has_unfinished_requests()
    assert engine.generate([good], GREEDY)[0].outputs[0].finish_reason == "length"
