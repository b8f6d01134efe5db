"""Load a Hugging Face checkpoint directory: DeepSeek-V2/V3 into `DeepseekForCausalLM`, Llama /
Qwen2 / Qwen3 into `DenseForCausalLM`, chosen by config.json's `architectures` (or `model_type`).
Dense checkpoints keep their Hugging Face names one to one (everything below about kv_b_proj,
experts and FP8 is DeepSeek's).

What is read: `config.json` and `model.safetensors`, or the shards listed in
`model.safetensors.index.json`. Checkpoint names map onto the model as follows:
  * most tensors keep their Hugging Face names;
  * `self_attn.kv_b_proj.weight` [H·(dn+dv), r] is split per head into `w_uk` (first dn rows of
    each head) and `w_uv` (next dv rows);
  * routed experts on disk are per expert (`mlp.experts.{e}.{gate,up,down}_proj.weight`) and are
    stacked into `experts.gate_up_proj` [E, 2I, m] / `experts.down_proj` [E, m, I]; the fused
    layout (`mlp.experts.gate_up_proj`, `mlp.experts.down_proj`) is accepted too;
  * FP8 e4m3 weights come with `<name>_scale_inv` (float32, one per 128×128 block, edge blocks
    partial) which is MULTIPLIED in, despite its name;
  * multi-token-prediction layers (`model.layers.{i}` with i >= num_hidden_layers) are skipped;
  * with tie_word_embeddings, `lm_head.weight` is the embedding (a stored copy is ignored).

Before any data is read the plan is checked against the shard headers: every missing, unexpected
or mis-shaped tensor is reported in one `CheckpointError`. Loading then streams tensor by tensor,
shard by shard, into the already-allocated model: no second copy of the weights is ever held.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open
from torch import Tensor

from model.config import ConfigError, ModelConfig, read_config_json
from model.deepseek import AttentionMode, DeepseekForCausalLM
from model.dense import DenseForCausalLM
from model.dense_config import DENSE_ARCHITECTURES, DenseConfig

SINGLE_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"
SCALE_SUFFIX = "_scale_inv"  # "<...>.weight_scale_inv" belongs to "<...>.weight"
FP8_DTYPES = {"F8_E4M3"}
_LAYER_NAME = re.compile(r"^model\.layers\.(\d+)\.")
_MAX_LISTED = 40
_DEEPSEEK_ARCHITECTURES = {"DeepseekV2ForCausalLM": "deepseek_v2", "DeepseekV3ForCausalLM": "deepseek_v3"}
SUPPORTED_ARCHITECTURES = {**_DEEPSEEK_ARCHITECTURES, **DENSE_ARCHITECTURES}
AnyConfig = ModelConfig | DenseConfig
AnyModel = DeepseekForCausalLM | DenseForCausalLM


class CheckpointError(ValueError):
    """The checkpoint does not fit the config; the message names every offending tensor."""


@dataclass
class _Target:
    """Where one checkpoint tensor goes: the expected shape and a writer into the model."""

    shape: tuple[int, ...]
    write: Callable[[Tensor], None]
    keep_float32: bool = False


@dataclass
class TensorInfo:
    shard: Path
    shape: tuple[int, ...]
    dtype: str


@dataclass
class _Plan:
    targets: dict[str, _Target] = field(default_factory=dict)


def read_config(path: str | Path) -> AnyConfig:
    """config.json (or the directory holding it) as the config of the architecture it names.

    `architectures[0]` decides when present, else `model_type`; anything else is a ConfigError
    naming the field and listing what is supported."""
    path, data = read_config_json(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: config must be a JSON object, got {type(data).__name__}")
    try:
        model_type = _model_type_of(data)
        data = {**data, "model_type": model_type}  # the architecture named it when the field is absent
        if model_type in _DEEPSEEK_ARCHITECTURES.values():
            return ModelConfig.from_dict(data)
        return DenseConfig.from_dict(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _model_type_of(data: dict) -> str:
    supported = ", ".join(SUPPORTED_ARCHITECTURES)
    architectures = data.get("architectures")
    if architectures:
        if not isinstance(architectures, list) or not isinstance(architectures[0], str):
            raise ConfigError(f"field 'architectures' must be a list of class names, got {architectures!r}")
        name = architectures[0]
        if name not in SUPPORTED_ARCHITECTURES:
            raise ConfigError(f"field 'architectures' is {architectures!r}; supported: {supported}")
        expected = SUPPORTED_ARCHITECTURES[name]
        if data.get("model_type", expected) != expected:
            raise ConfigError(f"field 'model_type' is {data['model_type']!r} but 'architectures' names {name} "
                              f"(model_type {expected!r}); fix one of them")
        return expected
    model_type = data.get("model_type")
    if model_type not in SUPPORTED_ARCHITECTURES.values():
        raise ConfigError(f"field 'model_type' is {model_type!r} and 'architectures' is absent; supported "
                          f"model types: {', '.join(SUPPORTED_ARCHITECTURES.values())}")
    return model_type


def load_model(
    path: str | Path,
    *,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
    attention_mode: AttentionMode = "absorb",
) -> AnyModel:
    """Build the model from an HF directory and fill every weight; returns it in eval mode.

    DeepSeek: router weights and V3's correction bias stay float32 whatever `dtype` is (as in
    transformers). `attention_mode` applies to DeepSeek's MLA only.
    """
    directory = Path(path)
    config = read_config(directory)
    tensors = read_checkpoint_headers(directory)

    # Built on the meta device: no random init, no memory until `to_empty` allocates each weight once.
    with torch.device("meta"):
        if isinstance(config, DenseConfig):
            model = DenseForCausalLM(config)
        else:
            model = DeepseekForCausalLM(config, attention_mode=attention_mode)
        _cast_floating(model, dtype)
    model = model.to_empty(device=device)
    model.tie_weights()  # to_empty gives each module its own tensor
    model.reset_non_persistent_buffers()

    plan = _plan_targets(model, config, tensors)
    _check(plan, config, tensors)
    _stream_into(plan, config, tensors, dtype)
    return model.eval()


# ----------------------------------------------------------------------------- reading headers

def read_checkpoint_headers(directory: Path) -> dict[str, TensorInfo]:
    """name -> (shard, shape, dtype) for every tensor, from safetensors headers only."""
    index_path = directory / INDEX_FILE
    if index_path.exists():
        try:
            weight_map = json.loads(index_path.read_text())["weight_map"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise CheckpointError(f"{index_path}: not a safetensors index with a 'weight_map' ({exc})") from None
        shards = sorted({directory / name for name in weight_map.values()})
    elif (directory / SINGLE_FILE).exists():
        weight_map = None
        shards = [directory / SINGLE_FILE]
    else:
        raise CheckpointError(f"{directory}: neither {SINGLE_FILE} nor {INDEX_FILE} is there")

    infos: dict[str, TensorInfo] = {}
    for shard in shards:
        if not shard.exists():
            raise CheckpointError(f"{index_path}: lists shard {shard.name}, which is missing")
        with safe_open(shard, framework="pt") as f:
            for name in f.keys():
                tensor_slice = f.get_slice(name)
                infos[name] = TensorInfo(shard, tuple(tensor_slice.get_shape()), tensor_slice.get_dtype())
    if weight_map is not None:
        listed_only = sorted(set(weight_map) - set(infos))
        if listed_only:
            raise CheckpointError(
                f"{index_path}: tensors listed in the index but absent from their shards: "
                + ", ".join(listed_only[:_MAX_LISTED])
            )
    return infos


# ----------------------------------------------------------------------------- the plan

def _copy_into(destination: Tensor) -> Callable[[Tensor], None]:
    def write(source: Tensor) -> None:
        destination.copy_(source)

    return write


def _plan_targets(model: AnyModel, config: AnyConfig, tensors: dict[str, TensorInfo]) -> _Plan:
    """Map each expected checkpoint name to its model destination."""
    plan = _Plan()
    params = dict(model.named_parameters(remove_duplicate=False))
    params.update(dict(model.named_buffers()))
    if isinstance(config, DenseConfig):  # names as in the checkpoint, one to one
        for name, tensor in params.items():
            if name == "model.rotary_emb.inv_freq" or (name == "lm_head.weight" and config.tie_word_embeddings):
                continue
            plan.targets[name] = _Target(tuple(tensor.shape), _copy_into(tensor))
        return plan
    heads, dn, dv = config.num_attention_heads, config.qk_nope_head_dim, config.v_head_dim
    inter = config.moe_intermediate_size

    for name, tensor in params.items():
        if name == "model.rotary_emb.inv_freq":
            continue
        if name == "lm_head.weight" and config.tie_word_embeddings:
            continue
        keep32 = name.endswith("mlp.gate.weight") or name.endswith("e_score_correction_bias")
        if name.endswith("self_attn.w_uk"):
            prefix = name[: -len("w_uk")]
            w_uk, w_uv = tensor, params[prefix + "w_uv"]

            def write_kv_b(source: Tensor, w_uk: Tensor = w_uk, w_uv: Tensor = w_uv) -> None:
                per_head = source.view(heads, dn + dv, -1)
                w_uk.copy_(per_head[:, :dn])
                w_uv.copy_(per_head[:, dn:])

            plan.targets[prefix + "kv_b_proj.weight"] = _Target(
                (heads * (dn + dv), config.kv_lora_rank), write_kv_b
            )
        elif name.endswith("self_attn.w_uv"):
            continue  # written together with w_uk
        elif name.endswith("mlp.experts.gate_up_proj"):
            prefix = name[: -len("gate_up_proj")]
            down = params[prefix + "down_proj"]
            if prefix + "gate_up_proj" in tensors or prefix + "down_proj" in tensors:
                plan.targets[prefix + "gate_up_proj"] = _Target(tuple(tensor.shape), _copy_into(tensor))
                plan.targets[prefix + "down_proj"] = _Target(tuple(down.shape), _copy_into(down))
                continue
            for e in range(tensor.shape[0]):
                plan.targets[f"{prefix}{e}.gate_proj.weight"] = _Target(
                    (inter, config.hidden_size), _copy_into(tensor[e, :inter])
                )
                plan.targets[f"{prefix}{e}.up_proj.weight"] = _Target(
                    (inter, config.hidden_size), _copy_into(tensor[e, inter:])
                )
                plan.targets[f"{prefix}{e}.down_proj.weight"] = _Target(
                    (config.hidden_size, inter), _copy_into(down[e])
                )
        elif name.endswith("mlp.experts.down_proj"):
            continue  # planned with gate_up_proj
        else:
            plan.targets[name] = _Target(tuple(tensor.shape), _copy_into(tensor), keep_float32=keep32)
    return plan


def _is_mtp(name: str, config: AnyConfig) -> bool:
    match = _LAYER_NAME.match(name)
    return match is not None and int(match.group(1)) >= config.num_hidden_layers


def _scale_shape(shape: tuple[int, ...], block: tuple[int, int]) -> tuple[int, int]:
    return (-(-shape[0] // block[0]), -(-shape[1] // block[1]))


def _check(plan: _Plan, config: AnyConfig, tensors: dict[str, TensorInfo]) -> None:
    """Every problem at once: missing, unexpected, mis-shaped, FP8 scales that do not fit."""
    block = config.fp8_block_size or (128, 128)
    missing, unexpected, misshaped = [], [], []
    for name, target in plan.targets.items():
        info = tensors.get(name)
        if info is None:
            missing.append(f"{name} (expected shape {list(target.shape)})")
        elif info.shape != target.shape:
            misshaped.append(
                f"{name}: expected shape {list(target.shape)}, found {list(info.shape)} in {info.shard.name}"
            )
        elif info.dtype in FP8_DTYPES:
            scale_name = name + SCALE_SUFFIX
            scale = tensors.get(scale_name)
            expected_scale = _scale_shape(info.shape, block) if len(info.shape) == 2 else None
            if expected_scale is None:
                misshaped.append(f"{name}: FP8 tensor must be 2-D, found {list(info.shape)}")
            elif scale is None:
                missing.append(f"{scale_name} (FP8 scale for {name}, expected shape {list(expected_scale)})")
            elif scale.shape != expected_scale:
                misshaped.append(
                    f"{scale_name}: expected shape {list(expected_scale)} for {block[0]}x{block[1]} blocks "
                    f"of {list(info.shape)}, found {list(scale.shape)} in {scale.shard.name}"
                )
    for name, info in tensors.items():
        if name in plan.targets or _is_mtp(name, config):
            continue
        if name == "lm_head.weight" and config.tie_word_embeddings:
            continue
        if isinstance(config, DenseConfig) and name.endswith("rotary_emb.inv_freq"):
            continue  # older Llama checkpoints saved the (recomputed) RoPE frequencies
        if name.endswith(SCALE_SUFFIX):
            owner = tensors.get(name[: -len(SCALE_SUFFIX)])
            if owner is not None and owner.dtype in FP8_DTYPES and name[: -len(SCALE_SUFFIX)] in plan.targets:
                continue
        unexpected.append(f"{name} (shape {list(info.shape)} in {info.shard.name})")

    problems = []
    for title, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", misshaped)):
        if items:
            shown = items[:_MAX_LISTED]
            more = f"\n    ... and {len(items) - len(shown)} more" if len(items) > len(shown) else ""
            problems.append(f"  {title} ({len(items)}):\n    " + "\n    ".join(shown) + more)
    if problems:
        raise CheckpointError(
            "checkpoint does not match config.json (model_type "
            f"{config.model_type}, {config.num_hidden_layers} layers):\n" + "\n".join(problems)
        )


# ----------------------------------------------------------------------------- streaming

def dequantize_fp8_blocks(weight: Tensor, scale_inv: Tensor, block: tuple[int, int] = (128, 128)) -> Tensor:
    """float32 weight = e4m3 weight × scale of its block (edge blocks cover the remainder)."""
    rows, cols = weight.shape
    scale = scale_inv.to(torch.float32)
    scale = scale.repeat_interleave(block[0], dim=0)[:rows].repeat_interleave(block[1], dim=1)[:, :cols]
    return weight.to(torch.float32) * scale


@torch.no_grad()
def _stream_into(plan: _Plan, config: AnyConfig, tensors: dict[str, TensorInfo], dtype: torch.dtype) -> None:
    block = config.fp8_block_size or (128, 128)
    by_shard: dict[Path, list[str]] = {}
    for name in plan.targets:
        by_shard.setdefault(tensors[name].shard, []).append(name)
    for shard, names in sorted(by_shard.items()):
        with safe_open(shard, framework="pt") as f:
            for name in names:
                target = plan.targets[name]
                source = f.get_tensor(name)
                if tensors[name].dtype in FP8_DTYPES:
                    source = dequantize_fp8_blocks(source, _read_one(tensors, name + SCALE_SUFFIX, f, shard), block)
                target.write(source.to(torch.float32 if target.keep_float32 else dtype))
                del source


def _read_one(tensors: dict[str, TensorInfo], name: str, open_file, open_shard: Path) -> Tensor:
    """A tensor from the shard already open, or from the one holding it (scales may sit elsewhere)."""
    shard = tensors[name].shard
    if shard == open_shard:
        return open_file.get_tensor(name)
    with safe_open(shard, framework="pt") as other:
        return other.get_tensor(name)


def _cast_floating(model: AnyModel, dtype: torch.dtype) -> None:
    """Cast parameters to dtype, keeping the router (gate weight, correction bias) in float32."""
    for module_name, module in model.named_modules():
        keep32 = module_name.endswith("mlp.gate")
        for pname, param in list(module.named_parameters(recurse=False)):
            target = torch.float32 if keep32 else dtype
            if param.dtype != target:
                setattr(module, pname, torch.nn.Parameter(param.to(target), requires_grad=param.requires_grad))
    model.tie_weights()
