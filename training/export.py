"""Export a trained model as a Hugging Face checkpoint that `model.loader.load_model` reads back.

`config.json`, `model.safetensors` (HF tensor names: `kv_b_proj.weight`, per-expert
`gate/up/down_proj`) and the tokenizer files copied beside them.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import Tensor

from model.deepseek import DeepseekForCausalLM
from model.tokenizer import TOKENIZER_CONFIG_FILE, TOKENIZER_FILE

SAVE_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def hf_state_dict(model: DeepseekForCausalLM, dtype: torch.dtype = torch.float32) -> dict[str, Tensor]:
    """The model's tensors under Hugging Face DeepSeek names (the inverse of model.loader's mapping)."""
    config = model.config
    inter = config.moe_intermediate_size
    out: dict[str, Tensor] = {}
    state = model.state_dict()
    for name, tensor in state.items():
        keep32 = name.endswith("mlp.gate.weight") or name.endswith("e_score_correction_bias")
        cast = (lambda t, keep32=keep32: t.detach().to(torch.float32 if keep32 else dtype).contiguous().clone())
        if name == "lm_head.weight" and config.tie_word_embeddings:
            continue
        if name.endswith("self_attn.w_uk"):
            prefix = name[: -len("w_uk")]
            w_uv = state[prefix + "w_uv"]
            per_head = torch.cat([tensor, w_uv], dim=1)  # [H, dn + dv, r]
            out[prefix + "kv_b_proj.weight"] = cast(per_head.reshape(-1, per_head.shape[-1]))
        elif name.endswith("self_attn.w_uv"):
            continue
        elif name.endswith("mlp.experts.gate_up_proj"):
            prefix = name[: -len("gate_up_proj")]
            for e in range(tensor.shape[0]):
                out[f"{prefix}{e}.gate_proj.weight"] = cast(tensor[e, :inter])
                out[f"{prefix}{e}.up_proj.weight"] = cast(tensor[e, inter:])
        elif name.endswith("mlp.experts.down_proj"):
            prefix = name[: -len("down_proj")]
            for e in range(tensor.shape[0]):
                out[f"{prefix}{e}.down_proj.weight"] = cast(tensor[e])
        else:
            out[name] = cast(tensor)
    return out


def save_checkpoint(model: DeepseekForCausalLM, out_dir: str | Path, tokenizer_dir: str | Path | None,
                    dtype: torch.dtype = torch.float32) -> Path:
    """Write config.json, model.safetensors and (copied from tokenizer_dir) the tokenizer files."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = model.config.to_dict()
    config["torch_dtype"] = str(dtype).removeprefix("torch.")
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    save_file(hf_state_dict(model, dtype), str(out / "model.safetensors"), metadata={"format": "pt"})
    if tokenizer_dir is not None and Path(tokenizer_dir).resolve() != out.resolve():
        for file_name in (TOKENIZER_FILE, TOKENIZER_CONFIG_FILE):
            shutil.copyfile(Path(tokenizer_dir) / file_name, out / file_name)
    return out
