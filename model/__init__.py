"""The policy model: DeepSeek-V2/V3 MoE + MLA transformer, HF checkpoint loader, tokenizer."""
from model.config import ConfigError, ModelConfig, YarnScaling, cache_bytes_per_token, full_kv_cache_bytes_per_token
from model.deepseek import DeepseekForCausalLM, RoutingConfig, route
from model.loader import CheckpointError, load_model
from model.tokenizer import Tokenizer, TokenizerError, load_tokenizer

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DeepseekForCausalLM",
    "ModelConfig",
    "RoutingConfig",
    "Tokenizer",
    "TokenizerError",
    "YarnScaling",
    "cache_bytes_per_token",
    "full_kv_cache_bytes_per_token",
    "load_model",
    "load_tokenizer",
    "route",
]
