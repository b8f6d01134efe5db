"""The policy model's configuration: Hugging Face `config.json` of DeepSeek-V2/V3, read once.

Both spellings of the rotary settings are accepted:
  * published checkpoints: top-level `rope_theta` + `rope_scaling: {type: yarn, factor, ...}`
  * transformers 5: `rope_parameters: {rope_type: yarn | default, rope_theta, factor, ...}`

Routing defaults follow the model type when the file does not name them (transformers 5 does not
write `topk_method`/`scoring_func`): DeepSeek-V2 routes with softmax + `greedy`, DeepSeek-V3 with
sigmoid + `noaux_tc`. Any invalid or unsupported value raises `ConfigError` naming the field.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from kernels.dispatch import YarnScaling

SUPPORTED_MODEL_TYPES = ("deepseek_v2", "deepseek_v3")
TOPK_METHODS = ("greedy", "group_limited_greedy", "noaux_tc")
SCORING_FUNCS = ("softmax", "sigmoid")
YARN_TYPE_NAMES = ("yarn", "deepseek_yarn")
PLAIN_ROPE_TYPE_NAMES = ("default", None)

_ARCHITECTURE_NAMES = {"deepseek_v2": "DeepseekV2ForCausalLM", "deepseek_v3": "DeepseekV3ForCausalLM"}


class ConfigError(ValueError):
    """A config.json that this model cannot run; the message names the offending field."""


def read_config_json(path: str | Path) -> tuple[Path, Any]:
    """`config.json` (or the directory holding it): its path and its parsed JSON, or a ConfigError
    saying what to pass instead."""
    path = Path(path)
    if path.is_dir():
        path = path / "config.json"
    try:
        return path, json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no config.json there; pass a Hugging Face model directory") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None


@dataclass(frozen=True)
class ModelConfig:
    """Every field the DeepSeek-V2/V3 policy needs, with the Hugging Face names."""

    model_type: str
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    # attention (MLA)
    q_lora_rank: int | None
    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int
    max_position_embeddings: int
    rope_theta: float = 10000.0
    rope_scaling: YarnScaling | None = None
    rope_interleave: bool = True
    attention_bias: bool = False
    # mixture of experts; n_routed_experts None/0 = a dense model
    n_routed_experts: int | None = None
    n_shared_experts: int = 0
    num_experts_per_tok: int | None = None
    moe_intermediate_size: int = 0
    first_k_dense_replace: int = 0
    moe_layer_freq: int = 1
    topk_method: str = "greedy"
    scoring_func: str = "softmax"
    n_group: int | None = None
    topk_group: int | None = None
    routed_scaling_factor: float = 1.0
    norm_topk_prob: bool = False
    # the rest
    rms_norm_eps: float = 1e-6
    hidden_act: str = "silu"
    tie_word_embeddings: bool = False
    bos_token_id: int | None = None
    eos_token_id: int | list[int] | None = None
    num_nextn_predict_layers: int = 0
    quantization_config: dict[str, Any] | None = None

    # ----------------------------------------------------------------- derived values
    @property
    def qk_head_dim(self) -> int:
        return self.qk_nope_head_dim + self.qk_rope_head_dim

    @property
    def is_moe(self) -> bool:
        return bool(self.n_routed_experts)

    def is_moe_layer(self, layer_idx: int) -> bool:
        """Layers before `first_k_dense_replace` (and off the `moe_layer_freq` grid) are dense."""
        return (
            self.is_moe
            and layer_idx >= self.first_k_dense_replace
            and layer_idx % self.moe_layer_freq == 0
        )

    @property
    def fp8_block_size(self) -> tuple[int, int] | None:
        """(rows, cols) of one FP8 scale block, when the checkpoint declares FP8 weights."""
        if self.quantization_config is None:
            return None
        rows, cols = self.quantization_config.get("weight_block_size", (128, 128))
        return int(rows), int(cols)

    # ----------------------------------------------------------------- reading
    @classmethod
    def from_file(cls, path: str | Path) -> "ModelConfig":
        """Read `config.json` (or the directory holding it)."""
        path, data = read_config_json(path)
        try:
            return cls.from_dict(data)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        """Build from the content of a config.json; unknown keys are ignored."""
        reader = _FieldReader(d)
        model_type = reader.get("model_type", str)
        if model_type not in SUPPORTED_MODEL_TYPES:
            raise ConfigError(
                f"field 'model_type' is {model_type!r}; supported: {', '.join(SUPPORTED_MODEL_TYPES)}"
            )
        is_v3 = model_type == "deepseek_v3"
        rope_theta, rope_scaling = _read_rope(d)

        n_routed = reader.get("n_routed_experts", int, default=None, nullable=True)
        config = cls(
            model_type=model_type,
            vocab_size=reader.positive("vocab_size"),
            hidden_size=reader.positive("hidden_size"),
            intermediate_size=reader.positive("intermediate_size"),
            num_hidden_layers=reader.positive("num_hidden_layers"),
            num_attention_heads=reader.positive("num_attention_heads"),
            q_lora_rank=reader.get("q_lora_rank", int, default=None, nullable=True),
            kv_lora_rank=reader.positive("kv_lora_rank"),
            qk_nope_head_dim=reader.positive("qk_nope_head_dim"),
            qk_rope_head_dim=reader.positive("qk_rope_head_dim"),
            v_head_dim=reader.positive("v_head_dim"),
            max_position_embeddings=reader.positive("max_position_embeddings"),
            rope_theta=rope_theta,
            rope_scaling=rope_scaling,
            # transformers' V2 always rotates interleaved pairs; V3 lets the config choose
            rope_interleave=reader.get("rope_interleave", bool, default=True) if is_v3 else True,
            attention_bias=reader.get("attention_bias", bool, default=False),
            n_routed_experts=n_routed,
            n_shared_experts=reader.get("n_shared_experts", int, default=0, nullable=True) or 0,
            num_experts_per_tok=reader.get("num_experts_per_tok", int, default=None, nullable=True),
            moe_intermediate_size=reader.get("moe_intermediate_size", int, default=0, nullable=True) or 0,
            first_k_dense_replace=reader.get("first_k_dense_replace", int, default=0, nullable=True) or 0,
            moe_layer_freq=reader.get("moe_layer_freq", int, default=1),
            topk_method=reader.get("topk_method", str, default="noaux_tc" if is_v3 else "greedy"),
            scoring_func=reader.get("scoring_func", str, default="sigmoid" if is_v3 else "softmax"),
            n_group=reader.get("n_group", int, default=None, nullable=True),
            topk_group=reader.get("topk_group", int, default=None, nullable=True),
            routed_scaling_factor=reader.get("routed_scaling_factor", float, default=1.0),
            norm_topk_prob=bool(reader.get("norm_topk_prob", bool, default=False, nullable=True)),
            rms_norm_eps=reader.get("rms_norm_eps", float, default=1e-6),
            hidden_act=reader.get("hidden_act", str, default="silu"),
            tie_word_embeddings=reader.get("tie_word_embeddings", bool, default=False),
            bos_token_id=reader.get("bos_token_id", int, default=None, nullable=True),
            eos_token_id=_read_eos(d),
            num_nextn_predict_layers=reader.get("num_nextn_predict_layers", int, default=0, nullable=True) or 0,
            quantization_config=_read_quantization(d),
        )
        _check_unsupported_switches(d)
        config.validate()
        return config

    def validate(self) -> None:
        """Cross-field checks; raises ConfigError naming the field."""
        if self.q_lora_rank is not None and self.q_lora_rank <= 0:
            raise ConfigError(f"field 'q_lora_rank' must be null or positive, got {self.q_lora_rank}")
        if self.hidden_act != "silu":
            raise ConfigError(f"field 'hidden_act' is {self.hidden_act!r}; only 'silu' is supported")
        if self.qk_rope_head_dim % 2:
            raise ConfigError(f"field 'qk_rope_head_dim' must be even (rotary pairs), got {self.qk_rope_head_dim}")
        if self.rms_norm_eps <= 0:
            raise ConfigError(f"field 'rms_norm_eps' must be positive, got {self.rms_norm_eps}")
        if self.rope_theta <= 0:
            raise ConfigError(f"field 'rope_theta' must be positive, got {self.rope_theta}")
        if self.moe_layer_freq != 1:
            raise ConfigError(f"field 'moe_layer_freq' is {self.moe_layer_freq}; only 1 is supported")
        if not self.is_moe:
            return
        n_experts = self.n_routed_experts or 0
        if n_experts < 0:
            raise ConfigError(f"field 'n_routed_experts' must be >= 0, got {n_experts}")
        if self.moe_intermediate_size <= 0:
            raise ConfigError("field 'moe_intermediate_size' must be positive for a mixture-of-experts model")
        if self.num_experts_per_tok is None or not 0 < self.num_experts_per_tok <= n_experts:
            raise ConfigError(
                f"field 'num_experts_per_tok' must be in 1..n_routed_experts ({n_experts}), "
                f"got {self.num_experts_per_tok}"
            )
        if self.first_k_dense_replace < 0:
            raise ConfigError(f"field 'first_k_dense_replace' must be >= 0, got {self.first_k_dense_replace}")
        if self.topk_method not in TOPK_METHODS:
            raise ConfigError(f"field 'topk_method' is {self.topk_method!r}; supported: {', '.join(TOPK_METHODS)}")
        if self.scoring_func not in SCORING_FUNCS:
            raise ConfigError(f"field 'scoring_func' is {self.scoring_func!r}; supported: {', '.join(SCORING_FUNCS)}")
        if self.topk_method != "greedy":
            if not self.n_group or self.n_group <= 0 or n_experts % self.n_group:
                raise ConfigError(
                    f"field 'n_group' must divide n_routed_experts ({n_experts}) for topk_method "
                    f"{self.topk_method!r}, got {self.n_group}"
                )
            if not self.topk_group or not 0 < self.topk_group <= self.n_group:
                raise ConfigError(f"field 'topk_group' must be in 1..n_group ({self.n_group}), got {self.topk_group}")
            if self.topk_method == "noaux_tc" and n_experts // self.n_group < 2:
                raise ConfigError("field 'n_group': noaux_tc scores a group by its top-2 experts; "
                                  f"groups of {n_experts // self.n_group} are too small")
            allowed = self.topk_group * (n_experts // self.n_group)
            if self.num_experts_per_tok > allowed:
                raise ConfigError(f"field 'num_experts_per_tok' ({self.num_experts_per_tok}) exceeds the "
                                  f"{allowed} experts in topk_group groups")

    # ----------------------------------------------------------------- writing
    def to_dict(self) -> dict[str, Any]:
        """config.json content both transformers and this module read back unchanged."""
        d = asdict(self)
        d.pop("rope_scaling")
        if self.rope_scaling is not None:
            d["rope_scaling"] = self.rope_scaling.to_dict()
        if self.quantization_config is None:
            d.pop("quantization_config")
        d["architectures"] = [_ARCHITECTURE_NAMES[self.model_type]]
        d["num_key_value_heads"] = self.num_attention_heads
        return d

    def to_json_file(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")


# --------------------------------------------------------------------------- helpers

def cache_bytes_per_token(config: ModelConfig, dtype: torch.dtype = torch.bfloat16) -> int:
    """Bytes the MLA latent cache holds per token: layers × (kv_lora_rank + qk_rope_head_dim) × size.

    Figures in bf16 (2 bytes), next to what a full per-head K/V cache would need
    (layers × heads × (qk_head_dim + v_head_dim) × 2):
      * DeepSeek-V2-Lite (27 layers, 16 heads, r=512, d_rope=64): 27 × 576 × 2 = 31,104 bytes;
        full K/V 27 × 16 × 320 × 2 = 276,480 bytes (8.9× more).
      * DeepSeek-V3 (61 layers, 128 heads, r=512, d_rope=64): 61 × 576 × 2 = 70,272 bytes;
        full K/V 61 × 128 × 320 × 2 = 4,997,120 bytes (71× more).
    """
    element_size = torch.empty((), dtype=dtype).element_size()
    return config.num_hidden_layers * (config.kv_lora_rank + config.qk_rope_head_dim) * element_size


def full_kv_cache_bytes_per_token(config: ModelConfig, dtype: torch.dtype = torch.bfloat16) -> int:
    """What caching decompressed per-head keys and values would cost, for comparison."""
    element_size = torch.empty((), dtype=dtype).element_size()
    per_layer = config.num_attention_heads * (config.qk_head_dim + config.v_head_dim)
    return config.num_hidden_layers * per_layer * element_size


_MISSING = object()


class _FieldReader:
    """Typed access to config.json fields with errors that name the field."""

    def __init__(self, d: dict[str, Any]):
        if not isinstance(d, dict):
            raise ConfigError(f"config must be a JSON object, got {type(d).__name__}")
        self.d = d

    def get(self, name: str, kind: type, *, default: Any = _MISSING, nullable: bool = False) -> Any:
        if name not in self.d:
            if default is _MISSING:
                raise ConfigError(f"field '{name}' is missing")
            return default
        value = self.d[name]
        if value is None:
            if nullable:
                return None
            if default is not _MISSING:
                return default
            raise ConfigError(f"field '{name}' must not be null")
        return _coerce(name, value, kind)

    def positive(self, name: str) -> int:
        value = self.get(name, int)
        if value <= 0:
            raise ConfigError(f"field '{name}' must be positive, got {value}")
        return value


def _coerce(name: str, value: Any, kind: type) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    elif kind is str:
        if isinstance(value, str):
            return value
    raise ConfigError(f"field '{name}' must be {kind.__name__}, got {value!r}")


def _read_eos(d: dict[str, Any]) -> int | list[int] | None:
    value = d.get("eos_token_id")
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return list(value)
    raise ConfigError(f"field 'eos_token_id' must be an int, a list of ints or null, got {value!r}")


def _read_rope(d: dict[str, Any]) -> tuple[float, YarnScaling | None]:
    """rope_theta and YaRN settings from either spelling; both present must agree."""
    params = d.get("rope_parameters")
    legacy = d.get("rope_scaling")
    top_theta = d.get("rope_theta")
    max_positions = d.get("max_position_embeddings")
    readings: list[tuple[str, float, YarnScaling | None]] = []
    if params is not None:
        readings.append(("rope_parameters", *_read_rope_dict("rope_parameters", params, top_theta, max_positions)))
    if legacy is not None:
        readings.append(("rope_scaling", *_read_rope_dict("rope_scaling", legacy, top_theta, max_positions)))
    if not readings:
        theta = _coerce("rope_theta", top_theta, float) if top_theta is not None else 10000.0
        return theta, None
    if len(readings) == 2 and readings[0][1:] != readings[1][1:]:
        raise ConfigError("fields 'rope_parameters' and 'rope_scaling' disagree; keep one of them")
    return readings[0][1], readings[0][2]


def _read_rope_dict(where: str, r: Any, top_theta: Any, max_positions: Any) -> tuple[float, YarnScaling | None]:
    if not isinstance(r, dict):
        raise ConfigError(f"field '{where}' must be an object, got {r!r}")
    theta_value = r.get("rope_theta", top_theta)
    theta = _coerce(f"{where}.rope_theta", theta_value, float) if theta_value is not None else 10000.0
    rope_type = r.get("rope_type", r.get("type"))
    if r.get("partial_rotary_factor") not in (None, 1, 1.0):
        raise ConfigError(f"field '{where}.partial_rotary_factor' is unsupported (must be 1)")
    if rope_type in PLAIN_ROPE_TYPE_NAMES:
        return theta, None
    if r.get("truncate", True) is not True:
        raise ConfigError(f"field '{where}.truncate' is unsupported (YaRN here always truncates the ramp bounds)")
    if rope_type not in YARN_TYPE_NAMES:
        raise ConfigError(f"field '{where}.type' is {rope_type!r}; supported: yarn, default")

    def number(key: str, kind: type, default: Any = _MISSING) -> Any:
        if r.get(key) is None:
            if default is _MISSING:
                raise ConfigError(f"field '{where}.{key}' is required for YaRN")
            return default
        value = _coerce(f"{where}.{key}", r[key], kind)
        if kind is not bool and value < 0:
            raise ConfigError(f"field '{where}.{key}' must be >= 0, got {value}")
        return value

    original = number("original_max_position_embeddings", int)
    if original <= 0:
        raise ConfigError(f"field '{where}.original_max_position_embeddings' must be positive")
    factor = number("factor", float, None)
    if factor is None and isinstance(max_positions, int):
        # transformers derives a missing factor from the context ratio
        factor = max_positions / original
    if factor is None or factor <= 0:
        raise ConfigError(f"field '{where}.factor' must be a positive number for YaRN")
    scaling = YarnScaling(
        factor=factor,
        original_max_position_embeddings=original,
        # transformers treats 0/None as "use the default" for the betas
        beta_fast=number("beta_fast", float, None) or 32.0,
        beta_slow=number("beta_slow", float, None) or 1.0,
        mscale=number("mscale", float, None),
        mscale_all_dim=number("mscale_all_dim", float, None),
        attention_factor=number("attention_factor", float, None),
    )
    return theta, scaling


def _read_quantization(d: dict[str, Any]) -> dict[str, Any] | None:
    q = d.get("quantization_config")
    if q is None:
        return None
    if not isinstance(q, dict):
        raise ConfigError(f"field 'quantization_config' must be an object, got {q!r}")
    if q.get("quant_method") != "fp8":
        raise ConfigError(
            f"field 'quantization_config.quant_method' is {q.get('quant_method')!r}; only 'fp8' is supported"
        )
    if q.get("fmt", "e4m3") != "e4m3":
        raise ConfigError(f"field 'quantization_config.fmt' is {q.get('fmt')!r}; only 'e4m3' is supported")
    block = q.get("weight_block_size", [128, 128])
    if (
        not isinstance(block, (list, tuple))
        or len(block) != 2
        or not all(isinstance(b, int) and not isinstance(b, bool) and b > 0 for b in block)
    ):
        raise ConfigError(f"field 'quantization_config.weight_block_size' must be two positive ints, got {block!r}")
    return dict(q)


def _check_unsupported_switches(d: dict[str, Any]) -> None:
    if d.get("mlp_bias"):
        raise ConfigError("field 'mlp_bias' is true; DeepSeek checkpoints have no MLP biases and this is unsupported")
    # num_key_value_heads is ignored: MLA has no grouped K/V, and transformers' V3 config writes 128
    # whatever the head count.
