"""The engine's decode attention through the Triton MLA kernel (kernels.dispatch), run by the
Triton interpreter on CPU, gives the same greedy tokens as the plain loop."""

from __future__ import annotations

from serving import Engine, EngineConfig, SamplingParams


def test_engine_through_the_triton_decode_kernel(monkeypatch, model32, reference, make_prompts):
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    prompts = make_prompts([5, 9], seed=31)
    engine = Engine(model32, config=EngineConfig(block_size=4, num_blocks=32))
    assert "Triton" in engine.mla_decode_source
    outs = engine.generate(prompts, SamplingParams(temperature=0, max_tokens=3, ignore_eos=True))
    for prompt, out in zip(prompts, outs):
        assert out.outputs[0].token_ids == reference(model32, prompt, 3)[0]
