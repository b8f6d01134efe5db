"""Supervised training of a small DeepSeek-V3-shaped policy on (prompt, tactic) pairs: the loop.

The model is `model.deepseek.DeepseekForCausalLM` (MLA attention, MoE with shared experts,
V3's sigmoid + noaux_tc router). Examples are `training.examples.SupervisedExample`s: a
DeepSeek-Prover-V1.5 prompt followed by the target completion. The loss is on the completion
tokens only. Prompt and completion are tokenized separately, as the engine sees them at
inference (the prompt alone, then generated tokens).

Load balancing is DeepSeek-V3's auxiliary-loss-free scheme: a forward hook on each MoE gate
counts the experts chosen for real (non-padding) tokens; after each optimizer step every
layer's `e_score_correction_bias` moves by +γ for experts below the mean load and −γ for
those above. The bias only changes which experts are selected, never the mixing weights.

Output (Hugging Face layout, written by `training.export`): `config.json`, `model.safetensors`,
`tokenizer.json`, `tokenizer_config.json`, and `training_log.json` (loss per step, expert load
per layer; `training.plots` draws it). Seeded: the same `TrainConfig` gives the same weights on
the same machine.

    python -m training.train --out-dir build/policy --steps 600 --plots docs
"""
from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from lean_env import open_env
from model.config import ModelConfig
from model.deepseek import DeepseekForCausalLM, Gate, MoE, RMSNorm
from model.loader import load_model
from model.tokenizer import Tokenizer, load_tokenizer
from training.bpe import PAD_TOKEN, BpeConfig, default_corpus, train_bpe
from training.curriculum import FAMILIES, generate
from training.examples import SupervisedExample, curriculum_examples, read_examples
from training.export import SAVE_DTYPES, save_checkpoint
from training.plots import plot_training

IGNORE_INDEX = -100
TRAINING_LOG = "training_log.json"


# =============================================================================== configuration

@dataclass
class TrainConfig:
    """Everything one training run depends on; the run is a pure function of it (and the data)."""

    out_dir: Path = Path("build/policy")
    seed: int = 0
    # data
    curriculum_seed: int = 0
    curriculum_per_family: int = 40
    # Families the hammer cannot do (mixed = hammer + model): drawn focus_per_family times each,
    # from the same seeded streams (so a superset of the plain draw), comma-separated names; a
    # family with fewer distinct theorems repeats them up to about that count.
    focus_families: str = ""
    focus_per_family: int = 0
    focus_repeat: int = 1  # each focus example appears this many times per epoch
    extra_examples: list[Path] = field(default_factory=list)  # JSONL written by `write_examples`
    tokenizer_dir: Path | None = None  # None: train a BPE tokenizer into out_dir first
    # Continue from this checkpoint's weights (and its correction biases) instead of a fresh
    # init; its tokenizer must be the one used here (pass tokenizer_dir = the same folder).
    init_checkpoint: Path | None = None
    vocab_size: int = 4096
    max_len: int = 384  # longer examples are dropped (and counted), never truncated
    # model (DeepSeek-V3 shape, small)
    hidden_size: int = 256
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    q_lora_rank: int | None = 128
    kv_lora_rank: int = 64
    qk_nope_head_dim: int = 32
    qk_rope_head_dim: int = 16
    v_head_dim: int = 32
    intermediate_size: int = 512
    moe_intermediate_size: int = 128
    n_routed_experts: int = 8
    n_shared_experts: int = 1
    num_experts_per_tok: int = 2
    n_group: int = 4
    topk_group: int = 2
    first_k_dense_replace: int = 1
    routed_scaling_factor: float = 1.0
    max_position_embeddings: int = 1024
    # optimisation
    steps: int = 600  # ~22 epochs of the default curriculum (440 examples) at batch 16
    batch_size: int = 16
    learning_rate: float = 3e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 50
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    init_std: float = 0.02
    # DeepSeek-V3's γ. V3 used 1e-3 over ~10⁵ steps of huge batches; our runs are ~10³ steps of
    # ~2k tokens, so the bias must move faster to settle within the run.
    bias_update_speed: float = 1e-2
    log_every: int = 10
    save_dtype: str = "float32"  # or "bfloat16" (halves the file)

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)
        self.extra_examples = [Path(p) for p in self.extra_examples]
        if self.tokenizer_dir is not None:
            self.tokenizer_dir = Path(self.tokenizer_dir)
        if self.init_checkpoint is not None:
            self.init_checkpoint = Path(self.init_checkpoint)
        if self.save_dtype not in SAVE_DTYPES:
            raise ValueError(f"save_dtype must be one of {sorted(SAVE_DTYPES)}, got {self.save_dtype!r}")
        if self.steps < 0 or self.batch_size < 1 or self.max_len < 8:
            raise ValueError(f"need steps >= 0, batch_size >= 1, max_len >= 8; got {self.steps}, "
                             f"{self.batch_size}, {self.max_len}")

    def model_config(self, vocab_size: int, bos_token_id: int | None, eos_token_id: int | None) -> ModelConfig:
        config = ModelConfig(
            model_type="deepseek_v3",
            vocab_size=vocab_size,
            hidden_size=self.hidden_size,
            intermediate_size=self.intermediate_size,
            num_hidden_layers=self.num_hidden_layers,
            num_attention_heads=self.num_attention_heads,
            q_lora_rank=self.q_lora_rank,
            kv_lora_rank=self.kv_lora_rank,
            qk_nope_head_dim=self.qk_nope_head_dim,
            qk_rope_head_dim=self.qk_rope_head_dim,
            v_head_dim=self.v_head_dim,
            max_position_embeddings=self.max_position_embeddings,
            n_routed_experts=self.n_routed_experts,
            n_shared_experts=self.n_shared_experts,
            num_experts_per_tok=self.num_experts_per_tok,
            moe_intermediate_size=self.moe_intermediate_size,
            first_k_dense_replace=self.first_k_dense_replace,
            topk_method="noaux_tc",
            scoring_func="sigmoid",
            n_group=self.n_group,
            topk_group=self.topk_group,
            routed_scaling_factor=self.routed_scaling_factor,
            norm_topk_prob=True,
            bos_token_id=bos_token_id,
            eos_token_id=eos_token_id,
        )
        config.validate()
        return config

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["out_dir"] = str(self.out_dir)
        d["extra_examples"] = [str(p) for p in self.extra_examples]
        d["tokenizer_dir"] = None if self.tokenizer_dir is None else str(self.tokenizer_dir)
        d["init_checkpoint"] = None if self.init_checkpoint is None else str(self.init_checkpoint)
        return d


@dataclass
class TrainResult:
    out_dir: Path
    steps: int
    losses: list[float]  # mean completion-token loss of each step's batch
    final_loss: float | None
    expert_load: dict[int, list[float]]  # MoE layer -> fraction of routed slots per expert (last log window)
    load_imbalance: dict[int, list[float]]  # MoE layer -> max/mean load at each log point
    num_examples: int
    dropped_too_long: int
    parameters: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["out_dir"] = str(self.out_dir)
        return d


# =============================================================================== encoding and loss

def encode_example(tokenizer: Tokenizer, example: SupervisedExample, max_len: int) -> tuple[list[int], list[int]] | None:
    """(input ids, labels): bos + prompt + completion + eos, labels only on completion + eos.
    None when longer than max_len."""
    if tokenizer.bos_token_id is None or tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer needs bos and eos tokens (tokenizer_config.json); train one with training.bpe")
    prompt_ids = tokenizer.encode(example.prompt(), add_bos=True)
    completion_ids = tokenizer.encode(example.completion(), add_bos=False) + [tokenizer.eos_token_id]
    ids = prompt_ids + completion_ids
    if len(ids) > max_len:
        return None
    return ids, [IGNORE_INDEX] * len(prompt_ids) + completion_ids


@dataclass
class Batch:
    input_ids: Tensor  # [B, T]
    labels: Tensor  # [B, T], IGNORE_INDEX off the completion
    token_mask: Tensor  # [B, T] bool, False on padding


def collate(encoded: Sequence[tuple[list[int], list[int]]], pad_id: int) -> Batch:
    """Right-padded batch (causal attention: padding after a row never affects its tokens)."""
    width = max(len(ids) for ids, _ in encoded)
    input_ids = torch.full((len(encoded), width), pad_id, dtype=torch.long)
    labels = torch.full((len(encoded), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.bool)
    for row, (ids, labs) in enumerate(encoded):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        labels[row, : len(labs)] = torch.tensor(labs)
        mask[row, : len(ids)] = True
    return Batch(input_ids, labels, mask)


def completion_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """Mean next-token cross-entropy over positions whose target is a completion token."""
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1),
                           ignore_index=IGNORE_INDEX)


def scored_rows_loss(model: DeepseekForCausalLM, batch: Batch) -> Tensor:
    """`completion_loss` computed with the output head on the scored positions only: the same
    value, without the vocab-wide logits (and their softmax) of every prompt token."""
    targets = batch.labels[:, 1:]
    scored = torch.zeros_like(batch.labels, dtype=torch.bool)
    scored[:, :-1] = targets != IGNORE_INDEX
    rows = scored.reshape(-1).nonzero().squeeze(1)
    logits = model(batch.input_ids, logit_rows=rows)
    return F.cross_entropy(logits, targets[targets != IGNORE_INDEX])


# =============================================================================== model set-up

def init_weights(model: DeepseekForCausalLM, std: float, seed: int) -> None:
    """Normal(0, std) matrices (output projections scaled by 1/sqrt(2·layers), as GPT-2), unit norms,
    zero biases and zero router correction bias. The model's own constructor leaves weights empty."""
    generator = torch.Generator().manual_seed(seed)
    residual_std = std / math.sqrt(2 * model.config.num_hidden_layers)
    with torch.no_grad():
        for module_name, module in model.named_modules():
            for pname, param in module.named_parameters(recurse=False):
                if isinstance(module, RMSNorm):
                    param.fill_(1.0)
                elif param.dim() == 1:
                    param.zero_()
                else:
                    is_output = (module_name.endswith("o_proj") or module_name.endswith("down_proj")
                                 or pname == "down_proj")
                    param.normal_(0.0, residual_std if is_output else std, generator=generator)
            if isinstance(module, Gate) and module.e_score_correction_bias is not None:
                module.e_score_correction_bias.zero_()
    model.reset_non_persistent_buffers()


def load_initial_checkpoint(path: Path, expected: ModelConfig) -> DeepseekForCausalLM:
    """A saved checkpoint to continue training from (naive MLA, as build_model); its shape must
    be the one this TrainConfig describes."""
    model = load_model(path, attention_mode="naive")
    for key in ("vocab_size", "hidden_size", "num_hidden_layers", "n_routed_experts", "kv_lora_rank"):
        if getattr(model.config, key) != getattr(expected, key):
            raise ValueError(f"init_checkpoint {path} has {key}={getattr(model.config, key)} but the "
                             f"TrainConfig asks for {getattr(expected, key)}; use matching model settings")
    return model


def build_model(config: ModelConfig, init_std: float = 0.02, seed: int = 0) -> DeepseekForCausalLM:
    model = DeepseekForCausalLM(config, attention_mode="naive")  # naive MLA: the cheaper one to train
    init_weights(model, init_std, seed)
    return model


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# =============================================================================== load balancing

class ExpertLoadMeter:
    """Counts, per MoE layer, how many real tokens chose each expert (forward hooks on the gates).

    Set `token_mask` ([B·T] bool, flattened like the gate's input) before a forward pass so
    padding is not counted; None counts every token."""

    def __init__(self, model: DeepseekForCausalLM):
        self.gates: dict[int, Gate] = {}
        self.counts: dict[int, Tensor] = {}
        self.token_mask: Tensor | None = None
        self._handles = []
        for idx, layer in enumerate(model.model.layers):
            if isinstance(layer.mlp, MoE):
                gate = layer.mlp.gate
                self.gates[idx] = gate
                self.counts[idx] = torch.zeros(gate.weight.shape[0], dtype=torch.long)
                self._handles.append(gate.register_forward_hook(self._hook(idx)))

    def _hook(self, layer_idx: int):
        def count(module: Gate, inputs: tuple[Tensor, ...], output: tuple[Tensor, Tensor]) -> None:
            topk_idx = output[0].detach()
            if self.token_mask is not None:
                if self.token_mask.numel() != topk_idx.shape[0]:
                    raise ValueError(f"token_mask has {self.token_mask.numel()} entries but layer {layer_idx}'s "
                                     f"gate routed {topk_idx.shape[0]} tokens")
                topk_idx = topk_idx[self.token_mask.reshape(-1)]
            self.counts[layer_idx] += torch.bincount(topk_idx.reshape(-1), minlength=self.counts[layer_idx].numel())

        return count

    def take(self) -> dict[int, Tensor]:
        """The counts since the last take, and reset."""
        taken = {idx: c.clone() for idx, c in self.counts.items()}
        for c in self.counts.values():
            c.zero_()
        return taken

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


@torch.no_grad()
def update_correction_bias(gates: dict[int, Gate], counts: dict[int, Tensor], speed: float) -> None:
    """DeepSeek-V3: bias += γ for experts below the mean load, −γ above it, unchanged at the mean."""
    for idx, gate in gates.items():
        if gate.e_score_correction_bias is None:
            raise ValueError(f"layer {idx}'s gate has no e_score_correction_bias (router is not noaux_tc)")
        load = counts[idx].to(torch.float32)
        if load.sum() == 0:
            continue
        gate.e_score_correction_bias += speed * torch.sign(load.mean() - load)


def load_fractions(counts: Tensor) -> list[float]:
    total = int(counts.sum())
    return [0.0] * counts.numel() if total == 0 else [round(float(c) / total, 6) for c in counts]


def imbalance(counts: Tensor) -> float:
    """max/mean expert load: 1.0 is perfectly even; every token on the same k of E experts gives E/k."""
    load = counts.to(torch.float32)
    return float(load.max() / load.mean()) if load.sum() > 0 else 1.0


# =============================================================================== the loop

def learning_rate(step: int, config: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to min_lr_ratio × learning_rate."""
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    span = max(1, config.steps - config.warmup_steps)
    progress = min(1.0, (step - config.warmup_steps) / span)
    floor = config.min_lr_ratio
    return config.learning_rate * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def staged_tokenizer_dir(out_dir: Path) -> Path:
    """Where a run trains its tokenizer: beside out_dir, copied in with the weights at the end, so
    a run that dies midway never leaves a new tokenizer next to old weights."""
    return out_dir.with_name(out_dir.name + ".tokenizer-partial")


def prepare_tokenizer(config: TrainConfig) -> tuple[Tokenizer, Path]:
    if config.tokenizer_dir is not None:
        return load_tokenizer(config.tokenizer_dir), config.tokenizer_dir
    corpus = default_corpus(config.curriculum_seed, config.curriculum_per_family)
    staged = staged_tokenizer_dir(config.out_dir)
    return train_bpe(corpus, staged, BpeConfig(vocab_size=config.vocab_size)), staged


def gather_examples(config: TrainConfig, env: Any = None) -> list[SupervisedExample]:
    focus = [f.strip() for f in config.focus_families.split(",") if f.strip()]
    unknown = [f for f in focus if f not in FAMILIES]
    if unknown:
        raise ValueError(f"focus_families has unknown families {unknown}; known: {', '.join(FAMILIES)}")
    plain = [f for f in FAMILIES if f not in focus]
    examples, _ = curriculum_examples(generate(config.curriculum_seed, "train", config.curriculum_per_family,
                                               families=plain), env)
    wanted = max(config.focus_per_family, config.curriculum_per_family)
    for family in focus:
        items = generate(config.curriculum_seed, "train", wanted, families=[family])
        focused, _ = curriculum_examples(items, env)
        # A family with fewer distinct theorems than asked for (its space ran out) repeats them,
        # so every focus family weighs about the same in an epoch.
        fill = max(1, round(wanted / max(1, len(items))))
        examples.extend(focused * (fill * max(1, config.focus_repeat)))
    for path in config.extra_examples:
        examples.extend(read_examples(path))
    return examples


def train_on_examples(config: TrainConfig, examples: Sequence[SupervisedExample], tokenizer: Tokenizer,
                      tokenizer_dir: Path | None, log=print) -> TrainResult:
    """Train a fresh model on `examples`, save it to config.out_dir, return the metrics."""
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    encoded, dropped = [], 0
    for ex in examples:
        pair = encode_example(tokenizer, ex, config.max_len)
        if pair is None:
            dropped += 1
        else:
            encoded.append(pair)
    if not encoded:
        raise ValueError(f"no training example fits max_len={config.max_len} ({dropped} dropped); raise max_len")
    pad_id = tokenizer.token_to_id(PAD_TOKEN)
    pad_id = tokenizer.eos_token_id if pad_id is None else pad_id  # padding is never attended nor scored

    model_config = config.model_config(tokenizer.vocab_size, tokenizer.bos_token_id, tokenizer.eos_token_id)
    if config.init_checkpoint is None:
        model = build_model(model_config, config.init_std, config.seed)
    else:
        model = load_initial_checkpoint(config.init_checkpoint, model_config)
    model.train()
    meter = ExpertLoadMeter(model)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=config.learning_rate, betas=(0.9, 0.95))

    order_rng = random.Random(config.seed)
    order: list[int] = []
    losses: list[float] = []
    window = {idx: torch.zeros_like(c) for idx, c in meter.counts.items()}
    imbalance_log: dict[int, list[float]] = {idx: [] for idx in meter.counts}
    for step in range(config.steps):
        if len(order) < config.batch_size:  # reshuffle per epoch (the tail carries over)
            fresh = list(range(len(encoded)))
            order_rng.shuffle(fresh)
            order.extend(fresh)
        picked, order = order[: config.batch_size], order[config.batch_size:]
        batch = collate([encoded[i] for i in picked], pad_id)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, config)
        meter.token_mask = batch.token_mask.reshape(-1)
        loss = scored_rows_loss(model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        counts = meter.take()
        update_correction_bias(meter.gates, counts, config.bias_update_speed)
        for idx, c in counts.items():
            window[idx] += c
        losses.append(loss.item())
        if (step + 1) % config.log_every == 0 or step + 1 == config.steps:
            for idx in window:
                imbalance_log[idx].append(round(imbalance(window[idx]), 4))
            load_text = " ".join(f"L{idx}:{imbalance(window[idx]):.2f}" for idx in window)
            log(f"step {step + 1}/{config.steps} loss {loss.item():.4f} lr {learning_rate(step, config):.2e} "
                f"load max/mean {load_text}")
            last_window = {idx: c.clone() for idx, c in window.items()}
            for c in window.values():
                c.zero_()
    meter.close()
    model.eval()

    expert_load = {idx: load_fractions(c) for idx, c in (last_window.items() if config.steps else window.items())}
    save_checkpoint(model, config.out_dir, tokenizer_dir, SAVE_DTYPES[config.save_dtype])
    result = TrainResult(
        out_dir=config.out_dir, steps=config.steps, losses=[round(x, 6) for x in losses],
        final_loss=losses[-1] if losses else None, expert_load=expert_load, load_imbalance=imbalance_log,
        num_examples=len(encoded), dropped_too_long=dropped, parameters=count_parameters(model),
        seconds=round(time.perf_counter() - started, 2),
    )
    (config.out_dir / TRAINING_LOG).write_text(
        json.dumps({"config": config.to_json(), "result": result.to_json()}, indent=1) + "\n")
    return result


def train(config: TrainConfig, env: Any = None, log=print) -> TrainResult:
    """Tokenizer (trained unless `tokenizer_dir` is given), curriculum + extra examples, training, save.

    `env` (optional ProofEnv) replays multi-step reference proofs for their intermediate states."""
    tokenizer, tokenizer_dir = prepare_tokenizer(config)
    examples = gather_examples(config, env)
    result = train_on_examples(config, examples, tokenizer, tokenizer_dir, log)
    if tokenizer_dir == staged_tokenizer_dir(config.out_dir):
        shutil.rmtree(tokenizer_dir, ignore_errors=True)  # now copied into out_dir
    return result


# =============================================================================== command line

def _parse_args(argv: list[str] | None) -> tuple[TrainConfig, Path | None, bool]:
    parser = argparse.ArgumentParser(description="Train the small DeepSeek-V3-shaped prover policy.")
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.name == "extra_examples":
            parser.add_argument(flag, type=Path, nargs="*", default=[])
        elif f.name in ("out_dir", "tokenizer_dir", "init_checkpoint"):
            parser.add_argument(flag, type=Path, default=f.default)
        elif f.name == "q_lora_rank":
            parser.add_argument(flag, type=int, default=f.default)
        elif f.type in ("int", "float", "str") or isinstance(f.default, (int, float, str)):
            parser.add_argument(flag, type=type(f.default), default=f.default)
    parser.add_argument("--plots", type=Path, default=None, help="also write the loss/load PNGs here")
    parser.add_argument("--no-replay", action="store_true",
                        help="do not replay reference proofs in the embedded kernel (first steps only)")
    args = vars(parser.parse_args(argv))
    plots = args.pop("plots")
    replay = not args.pop("no_replay")
    return TrainConfig(**args), plots, replay


def main(argv: list[str] | None = None) -> None:
    config, plots, replay = _parse_args(argv)
    env = None
    if replay:  # every step of multi-step reference proofs needs the kernel's intermediate states
        env = open_env("embedded", pool_size=1)
    try:
        result = train(config, env=env)
    finally:
        if env is not None:
            env.close()
    print(f"saved {result.out_dir} ({result.parameters:,} parameters, {result.num_examples} examples, "
          f"final loss {result.final_loss}, {result.seconds}s)")
    if plots is not None:
        for path in plot_training(config.out_dir / TRAINING_LOG, plots):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
