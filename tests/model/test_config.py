"""config.json of DeepSeek-V2/V3 in both rope spellings; errors name the field; cache sizes."""
from __future__ import annotations

import copy
import json
import math

import pytest
import torch

from kernels.dispatch import yarn_cos_sin_scale
from model.config import ConfigError, ModelConfig, cache_bytes_per_token, full_kv_cache_bytes_per_token
from model.deepseek import attention_softmax_scale

# As published with deepseek-ai/DeepSeek-V2-Lite (fields this module reads, plus some it ignores)
V2_LITE = {
    "architectures": ["DeepseekV2ForCausalLM"], "attention_bias": False, "aux_loss_alpha": 0.001,
    "bos_token_id": 100000, "eos_token_id": 100001, "first_k_dense_replace": 1, "hidden_act": "silu",
    "hidden_size": 2048, "intermediate_size": 10944, "kv_lora_rank": 512, "max_position_embeddings": 163840,
    "model_type": "deepseek_v2", "moe_intermediate_size": 1408, "moe_layer_freq": 1, "n_group": 1,
    "n_routed_experts": 64, "n_shared_experts": 2, "norm_topk_prob": False, "num_attention_heads": 16,
    "num_experts_per_tok": 6, "num_hidden_layers": 27, "num_key_value_heads": 16, "q_lora_rank": None,
    "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "rms_norm_eps": 1e-06,
    "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 0.707, "mscale_all_dim": 0.707,
                     "original_max_position_embeddings": 4096, "type": "yarn"},
    "rope_theta": 10000, "routed_scaling_factor": 1.0, "scoring_func": "softmax", "seq_aux": True,
    "tie_word_embeddings": False, "topk_group": 1, "topk_method": "greedy", "torch_dtype": "bfloat16",
    "v_head_dim": 128, "vocab_size": 102400,
}

# As published with deepseek-ai/DeepSeek-V3
V3 = {
    "architectures": ["DeepseekV3ForCausalLM"], "bos_token_id": 0, "eos_token_id": 1, "first_k_dense_replace": 3,
    "hidden_act": "silu", "hidden_size": 7168, "intermediate_size": 18432, "kv_lora_rank": 512,
    "max_position_embeddings": 163840, "model_type": "deepseek_v3", "moe_intermediate_size": 2048,
    "moe_layer_freq": 1, "n_group": 8, "n_routed_experts": 256, "n_shared_experts": 1, "norm_topk_prob": True,
    "num_attention_heads": 128, "num_experts_per_tok": 8, "num_hidden_layers": 61, "num_key_value_heads": 128,
    "num_nextn_predict_layers": 1, "q_lora_rank": 1536, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64,
    "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                            "weight_block_size": [128, 128]},
    "rms_norm_eps": 1e-06,
    "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 1.0, "mscale_all_dim": 1.0,
                     "original_max_position_embeddings": 4096, "type": "yarn"},
    "rope_theta": 10000, "routed_scaling_factor": 2.5, "scoring_func": "sigmoid", "tie_word_embeddings": False,
    "topk_group": 4, "topk_method": "noaux_tc", "v_head_dim": 128, "vocab_size": 129280,
}


def test_v2_lite_fields_yarn_and_scales():
    c = ModelConfig.from_dict(V2_LITE)
    assert c.q_lora_rank is None and c.qk_head_dim == 192
    assert (c.topk_method, c.scoring_func, c.n_routed_experts, c.first_k_dense_replace) == ("greedy", "softmax", 64, 1)
    assert c.rope_scaling is not None and c.rope_scaling.factor == 40 and c.rope_scaling.mscale_all_dim == 0.707
    assert not c.is_moe_layer(0) and c.is_moe_layer(1)
    mscale = 0.1 * 0.707 * math.log(40) + 1
    assert attention_softmax_scale(c) == pytest.approx(192**-0.5 * mscale**2)
    assert yarn_cos_sin_scale(c.rope_scaling) == pytest.approx(1.0)


def test_cache_bytes_per_token_figures():
    v2_lite, v3 = ModelConfig.from_dict(V2_LITE), ModelConfig.from_dict(V3)
    assert cache_bytes_per_token(v2_lite, torch.bfloat16) == 27 * 576 * 2 == 31_104
    assert full_kv_cache_bytes_per_token(v2_lite, torch.bfloat16) == 276_480
    assert cache_bytes_per_token(v3, torch.bfloat16) == 61 * 576 * 2 == 70_272
    assert full_kv_cache_bytes_per_token(v3, torch.bfloat16) == 4_997_120
    assert cache_bytes_per_token(v3, torch.float32) == 2 * 70_272


def test_v3_defaults_routing_by_model_type_and_reads_fp8():
    c = ModelConfig.from_dict(V3)
    assert c.fp8_block_size == (128, 128) and c.num_nextn_predict_layers == 1
    trimmed = {k: v for k, v in V3.items() if k not in ("topk_method", "scoring_func")}
    d = ModelConfig.from_dict(trimmed)
    assert (d.topk_method, d.scoring_func) == ("noaux_tc", "sigmoid")
    v2 = ModelConfig.from_dict({k: v for k, v in V2_LITE.items() if k not in ("topk_method", "scoring_func")})
    assert (v2.topk_method, v2.scoring_func) == ("greedy", "softmax")


def test_transformers5_rope_parameters_spelling_reads_the_same():
    from transformers import DeepseekV2Config

    written = DeepseekV2Config(**{k: v for k, v in V2_LITE.items() if k not in ("rope_scaling", "architectures")},
                               rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0,
                                                **{k: v for k, v in V2_LITE["rope_scaling"].items() if k != "type"}})
    data = json.loads(written.to_json_string())
    assert "rope_parameters" in data and "rope_scaling" not in data
    assert ModelConfig.from_dict(data).rope_scaling == ModelConfig.from_dict(V2_LITE).rope_scaling


def test_to_dict_round_trips_and_transformers_reads_it():
    from transformers import DeepseekV3Config

    c = ModelConfig.from_dict(V3)
    assert ModelConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    hf = DeepseekV3Config.from_dict(c.to_dict())
    assert hf.rope_parameters["rope_type"] == "yarn" and hf.rope_parameters["factor"] == 40
    assert hf.q_lora_rank == 1536 and hf.n_routed_experts == 256


def _with(base, **changes):
    d = copy.deepcopy(base)
    for key, value in changes.items():
        if value is KeyError:
            d.pop(key)
        else:
            d[key] = value
    return d


@pytest.mark.parametrize(
    "data, field",
    [
        (_with(V3, model_type="llama"), "'model_type'"),
        (_with(V3, hidden_size=KeyError), "'hidden_size' is missing"),
        (_with(V3, kv_lora_rank="512"), "'kv_lora_rank' must be int"),
        (_with(V3, topk_method="random"), "'topk_method'"),
        (_with(V3, scoring_func="relu"), "'scoring_func'"),
        (_with(V3, n_group=3), "'n_group'"),
        (_with(V3, topk_group=9), "'topk_group'"),
        (_with(V3, num_experts_per_tok=300), "'num_experts_per_tok'"),
        (_with(V3, rope_scaling={"type": "linear", "factor": 2.0}), "'rope_scaling.type'"),
        (_with(V3, rope_scaling={"type": "yarn", "factor": 4.0}), "'rope_scaling.original_max_position_embeddings'"),
        (_with(V3, rope_parameters={"rope_type": "yarn", "factor": 8.0, "original_max_position_embeddings": 4096}),
         "'rope_parameters' and 'rope_scaling' disagree"),
        (_with(V3, quantization_config={"quant_method": "awq"}), "'quantization_config.quant_method'"),
        (_with(V3, hidden_act="gelu"), "'hidden_act'"),
        (_with(V3, qk_rope_head_dim=63), "'qk_rope_head_dim'"),
        (_with(V2_LITE, q_lora_rank=0), "'q_lora_rank'"),
    ],
)
def test_invalid_configs_name_the_field(data, field):
    with pytest.raises(ConfigError) as info:
        ModelConfig.from_dict(data)
    assert field in str(info.value)


def test_from_file_names_the_file(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(_with(V3, vocab_size=-1)))
    with pytest.raises(ConfigError, match=r"config\.json: field 'vocab_size' must be positive"):
        ModelConfig.from_file(tmp_path)
    with pytest.raises(ConfigError, match="no config.json"):
        ModelConfig.from_file(tmp_path / "elsewhere")
