"""The engine serving dense models (Llama / Qwen2 / Qwen3 through the paged K/V cache): greedy output
token-identical to transformers' `generate` on the same checkpoint, and the engine's machinery
(chunked prefill, prefix cache, n-sample forks, preemption, the Triton decode kernel) unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from model import DenseForCausalLM, load_model
from serving import Engine, EngineConfig, SamplingParams
from serving.kv_cache import KVCachePool

GREEDY = dict(temperature=0.0, ignore_eos=True)
TINY = dict(
    vocab_size=128,
    hidden_size=64,
    intermediate_size=112,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=512,
    bos_token_id=0,
    eos_token_id=None,  # no EOS: generate's min_new_tokens would mask it, which the engine does not
)
VARIANTS = {
    "llama": dict(rope_parameters={"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
                                   "high_freq_factor": 4.0, "original_max_position_embeddings": 64}),
    "qwen2": dict(tie_word_embeddings=True),
    "qwen3": dict(head_dim=32),
}


def _save_reference(arch: str, directory: Path):
    import transformers

    config_cls, model_cls = {
        "llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM),
        "qwen2": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM),
        "qwen3": (transformers.Qwen3Config, transformers.Qwen3ForCausalLM),
    }[arch]
    config = config_cls(**TINY, **VARIANTS[arch])
    config._attn_implementation = "eager"
    torch.manual_seed(11)
    model = model_cls(config).eval()
    with torch.no_grad():  # weights large enough that the greedy continuation varies
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 1.0 if "embed" in name else 0.25)
            elif name.endswith("bias"):
                p.normal_(0.0, 0.2)
    model.save_pretrained(directory)
    return model


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def dense_pair(request, tmp_path_factory):
    """(transformers model, our model loaded from its checkpoint), float32."""
    directory = tmp_path_factory.mktemp(request.param)
    reference = _save_reference(request.param, directory)
    ours = load_model(directory)
    assert isinstance(ours, DenseForCausalLM)
    return reference, ours


def _prompts(lengths: list[int], seed: int) -> list[list[int]]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(2, TINY["vocab_size"], (n,), generator=g).tolist() for n in lengths]


@torch.inference_mode()
def _hf_greedy(reference, prompt: list[int], max_tokens: int) -> list[int]:
    out = reference.generate(
        torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long), do_sample=False,
        max_new_tokens=max_tokens, pad_token_id=0,
    )
    return out[0, len(prompt):].tolist()


def _check(reference, prompts, outputs, max_tokens):
    varied = 0
    for prompt, out in zip(prompts, outputs):
        expected = _hf_greedy(reference, prompt, max_tokens)
        varied += len(set(expected)) > 1
        for sample in out.outputs:
            assert sample.token_ids == expected
    assert varied, "every continuation repeats one token: the test would not see a wrong cache"


def test_greedy_matches_transformers_generate(dense_pair):
    reference, ours = dense_pair
    prompts = _prompts([1, 6, 17, 40], seed=1)
    # 16-token steps: the longer prompts are prefilled in chunks, mixed with decodes
    engine = Engine(ours, config=EngineConfig(block_size=4, num_blocks=128, max_num_batched_tokens=16))
    assert isinstance(engine.pool, KVCachePool) and "gqa_decode" in engine.mla_decode_source
    outs = engine.generate(prompts, SamplingParams(max_tokens=12, **GREEDY))
    _check(reference, prompts, outs, 12)
    assert max(engine.stats.batch_sizes) > 1


def test_prefix_cache_and_forks_with_the_kv_pool(dense_pair):
    reference, ours = dense_pair
    (shared,) = _prompts([24], seed=3)
    prompts = [shared + tail for tail in _prompts([3, 7, 1], seed=4)]
    engine = Engine(ours, config=EngineConfig(block_size=4, num_blocks=128))
    first = engine.generate(prompts, SamplingParams(n=3, max_tokens=8, **GREEDY))
    assert sorted(o.num_cached_tokens for o in first) == [0, 24, 24]
    again = engine.generate(prompts, SamplingParams(max_tokens=8, **GREEDY))
    assert all(o.num_cached_tokens >= 24 for o in again)
    _check(reference, prompts, first, 8)
    _check(reference, prompts, again, 8)



def test_shared_prefixes_are_packed_once_per_step(dense_pair, monkeypatch):
    """n samples decode through the cascade twin; its index layout is built once per step and
    read by every layer (packing per layer was a cost comparable to the attention itself)."""
    from kernels import dispatch

    reference, ours = dense_pair
    packs, cascades = [], []
    pack, cascade = dispatch.pack_gqa_cascade, dispatch.gqa_decode_shared_prefix
    monkeypatch.setattr(dispatch, "pack_gqa_cascade", lambda *a: packs.append(1) or pack(*a))
    monkeypatch.setattr(dispatch, "gqa_decode_shared_prefix", lambda *a: cascades.append(a[6]) or cascade(*a))
    prompts = _prompts([13, 9], seed=8)
    engine = Engine(ours, config=EngineConfig(block_size=4, num_blocks=128, decode_mode="eager"))
    outs = engine.generate(prompts, SamplingParams(n=3, max_tokens=6, **GREEDY))
    _check(reference, prompts, outs, 6)
    assert packs and len(cascades) == len(packs) * ours.config.num_hidden_layers
    assert all(isinstance(layout, dispatch.CascadeLayout) for layout in cascades)

def test_preemption_by_recompute_with_the_kv_pool(dense_pair):
    reference, ours = dense_pair
    prompts = _prompts([9, 14, 6, 11], seed=6)
    engine = Engine(ours, config=EngineConfig(block_size=4, num_blocks=12))
    outs = engine.generate(prompts, SamplingParams(n=2, max_tokens=10, **GREEDY))
    assert engine.num_preemptions > 0
    _check(reference, prompts, outs, 10)
    assert engine.block_manager.allocator.num_free + engine.block_manager.prefix_cache.num_blocks == 12


def test_decode_through_the_triton_gqa_kernel(dense_pair, monkeypatch):
    reference, ours = dense_pair
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    prompts = _prompts([5, 9], seed=31)
    engine = Engine(ours, config=EngineConfig(block_size=4, num_blocks=32))
    assert "Triton" in engine.mla_decode_source
    outs = engine.generate(prompts, SamplingParams(max_tokens=4, **GREEDY))
    _check(reference, prompts, outs, 4)


def test_kv_pool_is_sized_by_kv_heads_and_head_dim(dense_pair):
    _, ours = dense_pair
    budget = 1 << 20
    engine = Engine(ours, config=EngineConfig(block_size=4, cache_memory_bytes=budget))
    mc = ours.config
    per_token = mc.num_hidden_layers * 2 * mc.num_key_value_heads * mc.head_dim * 4  # float32
    assert engine.num_blocks == budget // (4 * per_token)
    # one scratch block beyond those the allocator hands out (padded rows of fixed-shape steps)
    assert tuple(engine.pool.k[0].shape) == (engine.num_blocks + 1, 4, mc.num_key_value_heads, mc.head_dim)


@torch.inference_mode()
def test_a_padded_decode_context_gives_the_eager_logits(dense_pair):
    """What a captured CUDA graph or the compiled step runs (fixed shapes, rows padded to a bucket
    that write only the scratch block), run eager on CPU, against the general path."""
    from serving.attention import DecodeContext
    from serving.decode_graph import pad_rows

    _, ours = dense_pair
    engine = Engine(ours, config=EngineConfig(block_size=4, num_blocks=64, decode_mode="eager"))
    for prompt in _prompts([5, 9, 3], seed=31):
        engine.add_request(prompt, SamplingParams(max_tokens=4, **GREEDY))
    engine.step()  # prefill + first token of each
    batch = engine.scheduler.schedule()
    assert all(item.num_new_tokens == 1 for item in batch)
    layers = [*engine.pool.k, *engine.pool.v]
    before = [layer.clone() for layer in layers]
    expected = engine.runner.run(batch)
    written = [layer.clone() for layer in layers]
    for layer, saved in zip(layers, before):
        layer.copy_(saved)
    rows = engine.runner.decode_inputs(batch)
    ids, pos, slots, table, lens = pad_rows(*rows, size=8, width=6, scratch_slot=engine.pool.scratch_slot,
                                            scratch_block=engine.pool.num_blocks)
    logits = ours(ids[None], positions=pos[None], cache=DecodeContext(engine.pool.layers, slots, table, lens))[0]
    torch.testing.assert_close(logits[: len(batch)], expected, atol=1e-4, rtol=1e-4)
    for layer, reference in zip(layers, written):  # live blocks hold exactly the real rows
        torch.testing.assert_close(layer[:-1], reference[:-1])
