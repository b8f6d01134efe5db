"""Configuration of the dense policies: Hugging Face `config.json` of Llama, Qwen2 and Qwen3.

These are the architectures of the provers one GPU runs: DeepSeek-Prover-V1.5 and -V2-7B (Llama),
Kimina-Prover-Distill and BFS-Prover (Qwen2), Goedel-Prover-V2 and Kimina-Prover-RL (Qwen3).
What differs between them, as transformers implements them:
  * Llama: `attention_bias` puts a bias on q/k/v/o, `mlp_bias` on the MLP; `head_dim` defaults to
    hidden_size / num_attention_heads.
  * Qwen2: q/k/v always have a bias, o_proj never.
  * Qwen3: RMSNorm over each head of q and k (before RoPE); `attention_bias` as Llama's (q/k/v/o);
    `head_dim` defaults to 128 (transformers' Qwen3Config), not hidden / heads.
RoPE: default, `linear`, `llama3`, `yarn` (either spelling: `rope_parameters` or `rope_scaling`).
Sliding-window attention (Qwen2/3's `use_sliding_window`) is not supported; no published prover
turns it on. Any invalid or unsupported value raises `ConfigError` naming the field.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kernels.dispatch import LinearScaling, Llama3Scaling, RopeScaling
from model.config import ConfigError, _coerce, _FieldReader, _read_eos, _read_rope

# architecture name (config.json `architectures[0]`) -> model_type
DENSE_ARCHITECTURES = {
    "LlamaForCausalLM": "llama",
    "Qwen2ForCausalLM": "qwen2",
    "Qwen3ForCausalLM": "qwen3",
}
DENSE_MODEL_TYPES = tuple(DENSE_ARCHITECTURES.values())
ROPE_TYPES = ("default", "linear", "llama3", "yarn")


@dataclass(frozen=True)
class DenseConfig:
    """Every field a dense decoder needs, with the Hugging Face names where there is one."""

    model_type: str  # llama | qwen2 | qwen3
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    max_position_embeddings: int
    rope_theta: float = 10000.0
    rope_scaling: RopeScaling | None = None
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False
    qk_norm: bool = False
    rms_norm_eps: float = 1e-6
    hidden_act: str = "silu"
    tie_word_embeddings: bool = False
    bos_token_id: int | None = None
    eos_token_id: int | list[int] | None = None

    # What the shared loader and engine ask of any config.
    fp8_block_size = None  # dense checkpoints here are never FP8
    is_moe = False

    @property
    def architecture(self) -> str:
        return next(a for a, t in DENSE_ARCHITECTURES.items() if t == self.model_type)

    @property
    def num_kv_groups(self) -> int:
        """Query heads per key/value head (GQA)."""
        return self.num_attention_heads // self.num_key_value_heads

    @property
    def softmax_scale(self) -> float:
        # transformers' Llama/Qwen2/Qwen3 scale by head_dim ** -0.5 whatever the RoPE scaling
        # (YaRN's correction goes into the cos/sin tables, see kernels.rope.yarn_cos_sin_scale)
        return self.head_dim**-0.5

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DenseConfig":
        """Build from the content of a config.json; unknown keys are ignored."""
        reader = _FieldReader(d)
        model_type = reader.get("model_type", str)
        if model_type not in DENSE_MODEL_TYPES:
            raise ConfigError(f"field 'model_type' is {model_type!r}; dense models supported: "
                              f"{', '.join(DENSE_MODEL_TYPES)}")
        hidden = reader.positive("hidden_size")
        heads = reader.positive("num_attention_heads")
        kv_heads = reader.get("num_key_value_heads", int, default=None, nullable=True) or heads
        default_head_dim = 128 if model_type == "qwen3" else hidden // heads
        head_dim = reader.get("head_dim", int, default=None, nullable=True) or default_head_dim
        attention_bias = reader.get("attention_bias", bool, default=False)
        _check_no_sliding_window(d)
        rope_theta, rope_scaling = _read_dense_rope(d)
        config = cls(
            model_type=model_type,
            vocab_size=reader.positive("vocab_size"),
            hidden_size=hidden,
            intermediate_size=reader.positive("intermediate_size"),
            num_hidden_layers=reader.positive("num_hidden_layers"),
            num_attention_heads=heads,
            num_key_value_heads=kv_heads,
            head_dim=head_dim,
            max_position_embeddings=reader.positive("max_position_embeddings"),
            rope_theta=rope_theta,
            rope_scaling=rope_scaling,
            qkv_bias=True if model_type == "qwen2" else attention_bias,
            o_bias=False if model_type == "qwen2" else attention_bias,
            mlp_bias=reader.get("mlp_bias", bool, default=False) if model_type == "llama" else False,
            qk_norm=model_type == "qwen3",
            rms_norm_eps=reader.get("rms_norm_eps", float, default=1e-6),
            hidden_act=reader.get("hidden_act", str, default="silu"),
            tie_word_embeddings=reader.get("tie_word_embeddings", bool, default=False),
            bos_token_id=reader.get("bos_token_id", int, default=None, nullable=True),
            eos_token_id=_read_eos(d),
        )
        if d.get("quantization_config") is not None:
            raise ConfigError("field 'quantization_config' is set; quantized dense checkpoints are unsupported "
                              "(use the bf16/fp16/fp32 release)")
        config.validate()
        return config

    def validate(self) -> None:
        """Cross-field checks; raises ConfigError naming the field."""
        if self.num_key_value_heads <= 0 or self.num_attention_heads % self.num_key_value_heads:
            raise ConfigError(
                f"field 'num_key_value_heads' ({self.num_key_value_heads}) must divide "
                f"num_attention_heads ({self.num_attention_heads})"
            )
        if self.head_dim <= 0 or self.head_dim % 2:
            raise ConfigError(f"field 'head_dim' must be positive and even (rotary pairs), got {self.head_dim}")
        if self.hidden_act != "silu":
            raise ConfigError(f"field 'hidden_act' is {self.hidden_act!r}; only 'silu' is supported")
        if self.rms_norm_eps <= 0:
            raise ConfigError(f"field 'rms_norm_eps' must be positive, got {self.rms_norm_eps}")
        if self.rope_theta <= 0:
            raise ConfigError(f"field 'rope_theta' must be positive, got {self.rope_theta}")


def _check_no_sliding_window(d: dict[str, Any]) -> None:
    if d.get("use_sliding_window"):
        raise ConfigError("field 'use_sliding_window' is true; sliding-window attention is unsupported "
                          "(set it to false: the published provers run with full attention)")
    layer_types = d.get("layer_types")
    if layer_types is not None and any(t != "full_attention" for t in layer_types):
        raise ConfigError(f"field 'layer_types' lists {sorted(set(layer_types))}; only 'full_attention' "
                          "layers are supported")


def _read_dense_rope(d: dict[str, Any]) -> tuple[float, RopeScaling | None]:
    """rope_theta and the scaling, from `rope_parameters` or `rope_scaling`."""
    where = "rope_parameters" if d.get("rope_parameters") is not None else "rope_scaling"
    r = d.get(where)
    if r is None:
        return _read_rope(d)
    if not isinstance(r, dict):
        raise ConfigError(f"field '{where}' must be an object, got {r!r}")
    rope_type = r.get("rope_type", r.get("type", "default"))
    if rope_type not in ROPE_TYPES:
        raise ConfigError(f"field '{where}.rope_type' is {rope_type!r}; supported: {', '.join(ROPE_TYPES)}")
    if r.get("partial_rotary_factor") not in (None, 1, 1.0):
        raise ConfigError(f"field '{where}.partial_rotary_factor' is unsupported (must be 1)")
    if rope_type in ("default", "yarn"):
        if rope_type == "yarn" and r.get("original_max_position_embeddings") is None:
            # transformers fills it in from max_position_embeddings before computing YaRN
            d = {**d, where: {**r, "original_max_position_embeddings": d.get("max_position_embeddings")}}
        return _read_rope(d)  # the DeepSeek reader knows both spellings of default and YaRN
    theta_value = r.get("rope_theta", d.get("rope_theta"))
    theta = _coerce(f"{where}.rope_theta", theta_value, float) if theta_value is not None else 10000.0

    def number(key: str, kind: type = float) -> Any:
        if r.get(key) is None:
            raise ConfigError(f"field '{where}.{key}' is required for rope_type {rope_type!r}")
        value = _coerce(f"{where}.{key}", r[key], kind)
        if value <= 0:
            raise ConfigError(f"field '{where}.{key}' must be positive, got {value}")
        return value

    if rope_type == "linear":
        return theta, LinearScaling(factor=number("factor"))
    original = r.get("original_max_position_embeddings", d.get("max_position_embeddings"))
    if original is None:
        raise ConfigError(f"field '{where}.original_max_position_embeddings' is required for rope_type 'llama3'")
    scaling = Llama3Scaling(
        factor=number("factor"),
        low_freq_factor=number("low_freq_factor"),
        high_freq_factor=number("high_freq_factor"),
        original_max_position_embeddings=_coerce(f"{where}.original_max_position_embeddings", original, int),
    )
    if scaling.high_freq_factor <= scaling.low_freq_factor:
        raise ConfigError(f"field '{where}.high_freq_factor' ({scaling.high_freq_factor}) must exceed "
                          f"low_freq_factor ({scaling.low_freq_factor})")
    return theta, scaling
