"""The faster training paths give the same numbers as the plain ones; focus families; `prover train`."""
from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from model.deepseek import routed_experts
from model.loader import load_model
from model.tokenizer import load_tokenizer
from training.curriculum import generate
from training.examples import curriculum_examples
from training.train import build_model, collate, completion_loss, encode_example, gather_examples, scored_rows_loss


def _dense_experts(x, gate_up, down, topk_idx, topk_weight):
    """Token by token, slot by slot: the definition the grouped implementation must match."""
    inter = gate_up.shape[1] // 2
    rows = []
    for t in range(x.shape[0]):
        acc = torch.zeros_like(x[t])
        for slot in range(topk_idx.shape[1]):
            e = int(topk_idx[t, slot])
            h = F.silu(gate_up[e, :inter] @ x[t]) * (gate_up[e, inter:] @ x[t])
            acc = acc + topk_weight[t, slot] * (down[e] @ h)
        rows.append(acc)
    return torch.stack(rows)


def test_routed_experts_values_and_gradients_match_the_per_token_definition():
    g = torch.Generator().manual_seed(0)
    n, m, inter, experts, k = 7, 6, 4, 5, 2
    x = torch.randn(n, m, generator=g, dtype=torch.float64, requires_grad=True)
    gate_up = torch.randn(experts, 2 * inter, m, generator=g, dtype=torch.float64, requires_grad=True)
    down = torch.randn(experts, m, inter, generator=g, dtype=torch.float64, requires_grad=True)
    # expert 4 gets no token: its gradient must be exactly zero
    topk_idx = torch.tensor([[0, 1], [1, 2], [3, 0], [2, 3], [0, 2], [1, 3], [3, 1]])
    topk_weight = torch.rand(n, k, generator=g, dtype=torch.float64, requires_grad=True)
    ours = routed_experts(x, gate_up, down, topk_idx, topk_weight)
    ref = _dense_experts(x, gate_up, down, topk_idx, topk_weight)
    assert torch.allclose(ours, ref, atol=1e-12)
    probe = torch.randn(n, m, generator=g, dtype=torch.float64)
    grads_ours = torch.autograd.grad((ours * probe).sum(), (x, gate_up, down, topk_weight))
    grads_ref = torch.autograd.grad((ref * probe).sum(), (x, gate_up, down, topk_weight))
    for a, b in zip(grads_ours, grads_ref):
        assert torch.allclose(a, b, atol=1e-10)
    assert torch.count_nonzero(grads_ours[1][4]) == 0 and torch.count_nonzero(grads_ours[2][4]) == 0


def test_scored_rows_loss_equals_the_full_logits_loss(tiny_config, tmp_path, tokenizer_dir):
    config = tiny_config(tmp_path / "run", tokenizer_dir)
    tok = load_tokenizer(tokenizer_dir)
    model = build_model(config.model_config(tok.vocab_size, tok.bos_token_id, tok.eos_token_id), seed=0)
    found, _ = curriculum_examples(generate(seed=0, split="train", per_family=1))
    batch = collate([encode_example(tok, ex, 256) for ex in found[:5]], tok.eos_token_id)
    full = completion_loss(model(batch.input_ids), batch.labels)
    fast = scored_rows_loss(model, batch)
    assert torch.allclose(full, fast, atol=1e-5)
    g_full = torch.autograd.grad(full, model.lm_head.weight)[0]
    g_fast = torch.autograd.grad(scored_rows_loss(model, batch), model.lm_head.weight)[0]
    assert torch.allclose(g_full, g_fast, atol=1e-6)


def test_focus_families_add_more_of_those_families(tiny_config, tmp_path, tokenizer_dir):
    base = tiny_config(tmp_path / "a", tokenizer_dir, curriculum_per_family=1)
    plain = gather_examples(base)
    focused = gather_examples(tiny_config(tmp_path / "b", tokenizer_dir, curriculum_per_family=1,
                                          focus_families="existential", focus_per_family=3, focus_repeat=2))
    count = lambda exs, fam: sum(f"_{fam}_" in ex.name for ex in exs)
    assert count(plain, "existential") == 1 and count(focused, "existential") == 6
    assert count(focused, "linear_equation") == count(plain, "linear_equation") == 1
    assert len({ex.name for ex in focused if "_existential_" in ex.name}) == 3
    # the focus draw extends the plain one (same seeded stream), it does not replace it
    first = next(ex for ex in plain if "_existential_" in ex.name)
    assert first in focused
    with pytest.raises(ValueError, match="unknown families"):
        gather_examples(tiny_config(tmp_path / "c", tokenizer_dir, focus_families="no_such_family"))


def test_a_focus_family_that_runs_out_repeats_its_theorems(tiny_config, tmp_path, tokenizer_dir, monkeypatch):
    import training.train

    real = training.train.generate

    def small_space(seed, split="train", per_family=10, families=None):  # a family with 3 distinct theorems
        return real(seed, split, min(per_family, 3) if families == ["quadratic_inequality"] else per_family, families)

    monkeypatch.setattr(training.train, "generate", small_space)  # what gather_examples calls
    found = gather_examples(tiny_config(tmp_path / "q", tokenizer_dir, curriculum_per_family=1,
                                        focus_families="quadratic_inequality", focus_per_family=7))
    quadratic = [ex for ex in found if "_quadratic_inequality_" in ex.name]
    assert len({ex.name for ex in quadratic}) == 3 and len(quadratic) == 6  # round(7 / 3) = 2 copies each


def test_prover_train_writes_a_loadable_checkpoint_and_plots(tmp_path, tokenizer_dir):
    from prover.cli import app

    out = tmp_path / "policy"
    result = CliRunner().invoke(app, [
        "train", "--out", str(out), "--steps", "1", "--per-family", "1", "--batch-size", "2",
        "--tokenizer", str(tokenizer_dir), "--threads", "1", "--plots", str(tmp_path / "plots"),
        "--focus-families", "quadratic_inequality", "--focus-per-family", "2",
    ])
    assert result.exit_code == 0, result.output
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "training_log.json"):
        assert (out / name).is_file(), name
    assert (tmp_path / "plots" / "training_loss.png").is_file()
    assert (tmp_path / "plots" / "expert_load.png").is_file()
    log = json.loads((out / "training_log.json").read_text())
    assert log["config"]["focus_families"] == "quadratic_inequality" and len(log["result"]["losses"]) == 1
    model = load_model(out)
    assert model.config.n_routed_experts == 8 and model.config.topk_method == "noaux_tc"

    # Zero steps from that checkpoint (how expert iteration starts from one, docs/TRAINING.md): a copy.
    copy = tmp_path / "copy"
    again = CliRunner().invoke(app, ["train", "--out", str(copy), "--steps", "0", "--per-family", "1",
                                     "--init", str(out), "--tokenizer", str(out), "--threads", "1"])
    assert again.exit_code == 0 and "no steps" in again.output, again.output
    assert (copy / "model.safetensors").read_bytes() == (out / "model.safetensors").read_bytes()


def test_prover_train_rejects_an_unknown_dtype(tmp_path, tokenizer_dir):
    from prover.cli import app

    result = CliRunner().invoke(app, ["train", "--out", str(tmp_path / "p"), "--dtype", "float8",
                                      "--tokenizer", str(tokenizer_dir)])
    assert result.exit_code == 2 and "save_dtype" in result.output


def test_training_can_continue_from_a_saved_checkpoint(tiny_config, tmp_path, tokenizer_dir):
    from safetensors.torch import load_file

    from training.train import train

    # One step: the correction bias is then ±γ per expert (two steps may cancel to exactly 0).
    first = train(tiny_config(tmp_path / "first", tokenizer_dir, steps=1))
    again = train(tiny_config(tmp_path / "again", tokenizer_dir, steps=0, init_checkpoint=first.out_dir))
    a, b = load_file(str(first.out_dir / "model.safetensors")), load_file(str(again.out_dir / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert torch.count_nonzero(a["model.layers.1.mlp.gate.e_score_correction_bias"]) > 0  # the bias came along
    with pytest.raises(ValueError, match="hidden_size"):
        train(tiny_config(tmp_path / "bad", tokenizer_dir, steps=0, hidden_size=48, init_checkpoint=first.out_dir))


def test_a_run_that_dies_midway_leaves_the_old_checkpoint_whole(tiny_config, tmp_path, tokenizer_dir, monkeypatch):
    """The tokenizer is trained beside out_dir and copied in with the weights at the very end."""
    import training.train as train_module
    from training.train import staged_tokenizer_dir, train

    out = tmp_path / "policy"
    train(tiny_config(out, tokenizer_dir, steps=1))
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def dies(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "train_on_examples", dies)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_config(out, None, steps=1, vocab_size=400, curriculum_per_family=1))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    monkeypatch.undo()

    fresh = train(tiny_config(out, None, steps=1, vocab_size=400, curriculum_per_family=1))
    assert load_tokenizer(out).vocab_size <= 400 and fresh.out_dir == out
    assert not staged_tokenizer_dir(out).exists()
