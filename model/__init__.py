"""The policy model: DeepSeek-V2/V3 MoE + MLA transformer, dense Llama/Qwen2/Qwen3 transformers,
HF checkpoint loader, tokenizer."""
from model.config import ConfigError, ModelConfig, YarnScaling, cache_bytes_per_token, full_kv_cache_bytes_per_token
from model.deepseek import DeepseekForCausalLM, RoutingConfig, route
from model.dense import DenseForCausalLM
from model.dense_config import DenseConfig
from model.loader import CheckpointError, load_model, read_config
from model.tokenizer import Tokenizer, TokenizerError, load_tokenizer

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DeepseekForCausalLM",
    "DenseConfig",
    "DenseForCausalLM",
    "ModelConfig",
    "RoutingConfig",
    "Tokenizer",
    "TokenizerError",
    "YarnScaling",
    "cache_bytes_per_token",
    "full_kv_cache_bytes_per_token",
    "load_model",
    "load_tokenizer",
    "read_config",
    "route",
]
