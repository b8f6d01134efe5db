"""Sampling, stop conditions, bad input and cache flushing through the Engine API."""

from __future__ import annotations

import pytest

from serving import Engine, EngineConfig, PromptTooLongError, RequestOutput, SamplingParams


def _engine(model, **kw) -> Engine:
    return Engine(model, **{"config": EngineConfig(block_size=4, num_blocks=96), **kw})


def test_seeded_sampling_is_reproducible_alone_or_batched(model64, make_prompts):
    target, *others = make_prompts([12, 5, 20, 9], seed=11)
    params = SamplingParams(n=3, temperature=1.0, top_p=0.9, seed=1234, max_tokens=8, ignore_eos=True)
    alone = _engine(model64).generate([target], params)[0]
    batched = _engine(model64).generate(
        [others[0], target, others[1], others[2]],
        [SamplingParams(temperature=0.8, max_tokens=9, ignore_eos=True), params,
         SamplingParams(n=2, temperature=1.0, max_tokens=4), SamplingParams(temperature=0, max_tokens=3)],
    )[1]
    assert [s.token_ids for s in alone.outputs] == [s.token_ids for s in batched.outputs]
    # the three samples are different draws, and another seed gives another draw
    assert len({tuple(s.token_ids) for s in alone.outputs}) > 1
    other = _engine(model64).generate([target], SamplingParams(n=3, temperature=1.0, top_p=0.9, seed=99, max_tokens=8, ignore_eos=True))[0]
    assert [s.token_ids for s in other.outputs] != [s.token_ids for s in alone.outputs]


def test_max_tokens_is_honoured_per_request(model64, make_prompts):
    prompts = make_prompts([6, 6, 6], seed=12)
    outs = _engine(model64).generate(
        prompts, [SamplingParams(temperature=1.0, seed=i, max_tokens=m, ignore_eos=True) for i, m in enumerate([1, 4, 9])]
    )
    assert [len(o.outputs[0].token_ids) for o in outs] == [1, 4, 9]
    assert all(o.outputs[0].finish_reason == "length" and o.finished for o in outs)


def test_context_length_ends_generation(model64, make_prompts):
    (prompt,) = make_prompts([20], seed=13)
    engine = Engine(model64, config=EngineConfig(block_size=4, num_blocks=96, max_model_len=25))
    (out,) = engine.generate([prompt], SamplingParams(temperature=0, max_tokens=50, ignore_eos=True))
    assert len(out.outputs[0].token_ids) == 5 and out.outputs[0].finish_reason == "length"


def test_stop_strings_cut_the_text(model64, char_tokenizer, make_prompts):
    (prompt,) = make_prompts([10], seed=14)
    engine = _engine(model64, tokenizer=char_tokenizer)
    (free,) = engine.generate([prompt], SamplingParams(temperature=0, max_tokens=12, ignore_eos=True))
    text = free.outputs[0].text
    assert text == char_tokenizer.decode(free.outputs[0].token_ids)
    stop = text[4:6]
    cut = text.index(stop)
    (stopped,) = engine.generate([prompt], SamplingParams(temperature=0, max_tokens=12, stop=[stop, "never-there"], ignore_eos=True))
    sample = stopped.outputs[0]
    assert sample.finish_reason == "stop"
    assert sample.text == text[:cut]
    assert sample.token_ids == free.outputs[0].token_ids[: cut + len(stop)]


def test_text_prompts_go_through_the_tokenizer(model64, char_tokenizer, make_prompts):
    (ids,) = make_prompts([9], seed=15)
    engine = _engine(model64, tokenizer=char_tokenizer)
    by_text, by_ids = engine.generate([char_tokenizer.decode(ids), ids], SamplingParams(temperature=0, max_tokens=4, ignore_eos=True))
    assert by_text.prompt == char_tokenizer.decode(ids) and by_text.prompt_token_ids == ids
    assert by_text.outputs[0].token_ids == by_ids.outputs[0].token_ids


@pytest.mark.parametrize(
    "make_params, field",
    [
        (lambda: SamplingParams(n=0), "n"),
        (lambda: SamplingParams(temperature=-0.1), "temperature"),
        (lambda: SamplingParams(top_p=0.0), "top_p"),
        (lambda: SamplingParams(top_p=1.5), "top_p"),
        (lambda: SamplingParams(max_tokens=0), "max_tokens"),
        (lambda: SamplingParams(logprobs=-1), "logprobs"),
        (lambda: SamplingParams(stop=[""]), "stop"),
    ],
)
def test_bad_sampling_params_name_the_field(make_params, field):
    with pytest.raises(ValueError, match=rf"^{field}:"):
        make_params()


def test_bad_requests_are_rejected_and_the_engine_keeps_serving(model64, reference, make_prompts):
    engine = Engine(model64, config=EngineConfig(block_size=4, num_blocks=12, max_model_len=64))
    (good,) = make_prompts([7], seed=16)
    engine.add_request(good, SamplingParams(temperature=0, max_tokens=5, ignore_eos=True), request_id="good")
    bad = [
        ([], SamplingParams(), "prompt"),
        ("", SamplingParams(), "prompt"),
        ("text without a tokenizer", SamplingParams(), "prompt"),
        (list(range(2, 66)), SamplingParams(), "prompt"),  # 64 tokens: no room in a 64-token context
        ([5, 999], SamplingParams(), "prompt"),  # outside the vocabulary
        (good, SamplingParams(stop_token_ids=[128]), "stop_token_ids"),  # unknown stop token
        (good, SamplingParams(stop=["x"]), "stop"),  # stop strings need a tokenizer
        (good, SamplingParams(max_tokens=60), "max_tokens"),  # may reach 64 tokens = 16 blocks; the pool has 12
    ]
    for prompt, params, field in bad:
        with pytest.raises(ValueError, match=rf"^{field}:"):
            engine.add_request(prompt, params)
    with pytest.raises(PromptTooLongError):  # its own type, so callers can skip just that prompt
        engine.add_request(list(range(2, 66)), SamplingParams())
    with pytest.raises(ValueError, match=r"^prompt:.*\(prompt #1\)"):
        engine.generate([good, []], SamplingParams())
    finished: list[RequestOutput] = []
    while engine.has_unfinished_requests():
        finished.extend(engine.step())
    assert [o.request_id for o in finished] == ["good"]
    assert finished[0].outputs[0].token_ids == reference(model64, good, 5)[0]


def test_flush_drops_every_cached_prefix(model64, make_prompts):
    (prompt,) = make_prompts([17], seed=17)
    engine = _engine(model64)
    params = SamplingParams(temperature=0, max_tokens=3, ignore_eos=True)
    engine.generate([prompt], params)
    assert engine.generate([prompt], params)[0].num_cached_tokens == 16
    engine.flush()
    assert engine.block_manager.prefix_cache.num_blocks == 0
    assert engine.block_manager.allocator.num_free == engine.num_blocks
    assert engine.generate([prompt], params)[0].num_cached_tokens == 0
