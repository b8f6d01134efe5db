"""Supervised training: data encoding, loss going down, V3 bias balancing, checkpoint round trip."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
from safetensors import safe_open

from model.loader import load_model
from model.tokenizer import load_tokenizer
from search.prompt import first_tactic
from training.curriculum import generate
from training.examples import completion_text, curriculum_examples, read_examples, write_examples
from training.export import save_checkpoint
from training.plots import plot_training
from training.train import (
    IGNORE_INDEX,
    ExpertLoadMeter,
    build_model,
    collate,
    completion_loss,
    encode_example,
    imbalance,
    train_on_examples,
    update_correction_bias,
)


@pytest.fixture(scope="module")
def examples():
    items = generate(seed=0, split="train", per_family=2)
    found, failed = curriculum_examples(items)
    assert not failed and len(found) == len(items)
    return found


def _model_and_batch(tiny_config, tmp_path, tokenizer_dir, examples, **overrides):
    config = tiny_config(tmp_path / "run", tokenizer_dir, **overrides)
    tok = load_tokenizer(tokenizer_dir)
    model = build_model(config.model_config(tok.vocab_size, tok.bos_token_id, tok.eos_token_id), seed=0)
    encoded = [encode_example(tok, ex, 256) for ex in examples[:4]]
    return config, tok, model, collate(encoded, tok.eos_token_id)


def test_completion_text_gives_the_tactic_back_to_the_search():
    for tactic in ["linarith", "nlinarith [sq_nonneg (a - b)]", "have h : x = 2 := by\n  linarith"]:
        assert first_tactic(completion_text(tactic)) == tactic


def test_labels_cover_exactly_the_completion_and_eos(tokenizer_dir, examples):
    tok = load_tokenizer(tokenizer_dir)
    ex = examples[0]
    ids, labels = encode_example(tok, ex, 512)
    assert ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id
    supervised = [t for t, lab in zip(ids, labels) if lab != IGNORE_INDEX]
    assert supervised == labels[-len(supervised):]
    assert tok.decode(supervised[:-1]) == completion_text(ex.tactic) and supervised[-1] == tok.eos_token_id
    assert tok.decode([t for t, lab in zip(ids, labels) if lab == IGNORE_INDEX]) == ex.prompt()
    assert encode_example(tok, ex, 10) is None  # too long: dropped, never truncated


def test_examples_jsonl_round_trip(tmp_path, examples):
    path = tmp_path / "steps.jsonl"
    assert write_examples(examples, path) == len(examples)
    assert read_examples(path) == examples


def test_a_few_steps_lower_the_loss_on_a_fixed_batch(tiny_config, tmp_path, tokenizer_dir, examples):
    _, _, model, batch = _model_and_batch(tiny_config, tmp_path, tokenizer_dir, examples)
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(8):
        loss = completion_loss(model(batch.input_ids), batch.labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.75 * losses[0], losses
    assert all(b < a for a, b in zip(losses, losses[1:])), losses


def test_bias_update_direction():
    class FakeGate:
        e_score_correction_bias = torch.zeros(4)

    gate = FakeGate()
    update_correction_bias({1: gate}, {1: torch.tensor([10, 0, 5, 5])}, speed=0.1)
    assert torch.allclose(gate.e_score_correction_bias, torch.tensor([-0.1, 0.1, 0.0, 0.0]))


def test_bias_balancing_evens_out_a_skewed_router(tiny_config, tmp_path, tokenizer_dir, examples):
    """The meter's hook on the real MoE gate counts routed slots of real tokens; the V3 bias update
    then pulls a router that sends every token to experts 0 and 1 back to even load."""
    _, _, model, _ = _model_and_batch(tiny_config, tmp_path, tokenizer_dir, examples)
    meter = ExpertLoadMeter(model)
    (layer_idx, gate), = meter.gates.items()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        gate.weight.normal_(0.0, 0.3, generator=generator)      # tokens disagree about experts
        gate.e_score_correction_bias.copy_(torch.tensor([1.0, 1.0, 0.0, 0.0]))  # but 0 and 1 always win
    tokens = torch.randn(256, gate.weight.shape[1], generator=generator)
    meter.token_mask = torch.arange(256) < 200                   # the last 56 are padding
    history = []
    with torch.no_grad():
        for _ in range(50):
            gate(tokens)
            counts = meter.take()
            assert int(counts[layer_idx].sum()) == 200 * 2       # top-2 of real tokens only
            history.append(imbalance(counts[layer_idx]))
            update_correction_bias(meter.gates, counts, speed=0.02)
    assert history[0] == pytest.approx(2.0)                      # all slots on 2 of 4 experts
    assert all(later <= earlier + 1e-6 for earlier, later in zip(history[:20], history[1:21]))
    assert max(history[-10:]) < 1.15, history
    bias = gate.e_score_correction_bias
    assert bias[0] < 1.0 and bias[1] < 1.0 and bias[2] > 0.0 and bias[3] > 0.0
    meter.close()
    gate(tokens)                                                 # hooks removed: nothing counted
    assert int(meter.counts[layer_idx].sum()) == 0


def test_checkpoint_round_trip_gives_the_same_logits(tiny_config, tmp_path, tokenizer_dir, examples):
    _, _, model, batch = _model_and_batch(tiny_config, tmp_path, tokenizer_dir, examples)
    with torch.no_grad():
        model.model.layers[1].mlp.gate.e_score_correction_bias.copy_(torch.tensor([0.3, -0.2, 0.1, 0.0]))
    model.eval()
    out = save_checkpoint(model, tmp_path / "ckpt", tokenizer_dir)
    assert {p.name for p in out.iterdir()} >= {"config.json", "model.safetensors", "tokenizer.json",
                                                  "tokenizer_config.json"}
    with safe_open(out / "model.safetensors", framework="pt") as f:
        names = set(f.keys())
    assert "model.layers.0.self_attn.kv_b_proj.weight" in names
    assert "model.layers.1.mlp.experts.3.down_proj.weight" in names
    assert "model.layers.1.mlp.gate.e_score_correction_bias" in names
    loaded = load_model(out, attention_mode="naive")
    with torch.no_grad():
        expected = model(batch.input_ids)
        assert torch.allclose(loaded(batch.input_ids), expected, atol=1e-5)
        loaded.set_attention_mode("absorb")
        assert torch.allclose(loaded(batch.input_ids), expected, atol=1e-4)
    assert load_tokenizer(out).vocab_size == load_tokenizer(tokenizer_dir).vocab_size

    # The same directory is a Hugging Face checkpoint: transformers' reference model agrees.
    from transformers import DeepseekV3ForCausalLM

    reference = DeepseekV3ForCausalLM.from_pretrained(out, dtype=torch.float32)
    reference.config._attn_implementation = "eager"
    with torch.no_grad():
        assert torch.allclose(reference.eval()(batch.input_ids).logits, expected, atol=1e-4)


def test_training_run_is_reproducible_and_reports_expert_load(tiny_config, tmp_path, tokenizer_dir, examples):
    tok = load_tokenizer(tokenizer_dir)
    results = []
    for run in ("a", "b"):
        config = tiny_config(tmp_path / run, tokenizer_dir, steps=3)
        results.append(train_on_examples(config, examples, tok, tokenizer_dir, log=lambda *_: None))
    first, second = results
    assert first.losses == second.losses and len(first.losses) == 3
    assert set(first.expert_load) == {1}                   # layer 0 is dense, layer 1 is MoE
    assert sum(first.expert_load[1]) == pytest.approx(1.0, abs=1e-4)
    assert len(first.load_imbalance[1]) == 3
    log = json.loads((tmp_path / "a" / "training_log.json").read_text())
    assert log["result"]["losses"] == first.losses
    pictures = plot_training(tmp_path / "a" / "training_log.json", tmp_path / "docs")
    assert [p.name for p in pictures] == ["training_loss.png", "expert_load.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in pictures)
    a, b = load_model(tmp_path / "a"), load_model(tmp_path / "b")
    for (name, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(pa, pb), name


def test_replay_gives_every_step_of_a_multi_step_proof(embedded_env):
    items = [i for i in generate(seed=0, split="train", per_family=12, families=["function_equation"])
             if len(i.tactics) == 2][:1]
    assert items, "no two-step function_equation item among the first 12"
    found, failed = curriculum_examples(items, embedded_env)
    assert not failed and [s.tactic for s in found] == items[0].tactics
    first, second = found
    assert second.proof_so_far == (first.tactic,) and second.state != first.state
    assert "a * " in second.state.split("⊢")[0]      # h₁, h₂ were rewritten with the law h₀
    wrong = replace(items[0], tactics=["linarith"])  # a proof the kernel does not accept: no steps
    assert curriculum_examples([wrong], embedded_env) == ([], [wrong.name])


def test_command_line_flags_fill_the_train_config(tmp_path):
    from training.train import _parse_args

    config, plots, replay = _parse_args(["--out-dir", str(tmp_path), "--steps", "5", "--q-lora-rank", "64",
                                 "--extra-examples", "a.jsonl", "b.jsonl", "--save-dtype", "bfloat16",
                                 "--plots", str(tmp_path / "docs"), "--no-replay"])
    assert config.out_dir == tmp_path and config.steps == 5 and config.q_lora_rank == 64
    assert [p.name for p in config.extra_examples] == ["a.jsonl", "b.jsonl"]
    assert config.save_dtype == "bfloat16" and plots == tmp_path / "docs" and not replay
    default, _, default_replay = _parse_args([])
    assert default.learning_rate == 3e-3 and default_replay
