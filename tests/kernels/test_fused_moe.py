from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from kernels.fused_moe import align_by_expert, fused_moe, fused_moe_reference, stack_expert_weights


def make_case(rng, tokens, dim, inter, experts, top_k, idle_experts=(), device="cpu"):
    """Random weights and routing; experts in `idle_experts` receive no tokens."""
    active = torch.tensor([e for e in range(experts) if e not in idle_experts])
    choice = torch.stack([torch.randperm(len(active), generator=rng)[:top_k] for _ in range(tokens)])
    case = dict(
        hidden=torch.randn(tokens, dim, generator=rng),
        w_gate_up=torch.randn(experts, 2 * inter, dim, generator=rng) / dim**0.5,
        w_down=torch.randn(experts, dim, inter, generator=rng) / inter**0.5,
        topk_ids=active[choice].reshape(tokens, top_k),
        topk_weights=torch.rand(tokens, top_k, generator=rng),
    )
    return {name: t.to(device) for name, t in case.items()}


@pytest.mark.parametrize(
    "tokens, dim, inter, experts, top_k, idle, chunk",
    [
        (1, 32, 24, 4, 1, (), None),  # a single token, top-1
        (9, 32, 48, 6, 2, (0, 4), None),  # top-k > 1, two experts with no tokens
        (21, 40, 20, 8, 3, (7,), 8),  # dims off the tile sizes, processed in 3 chunks
    ],
)
def test_fused_moe_matches_twin(
    tokens, dim, inter, experts, top_k, idle, chunk, rng, check_close, poisoned, device
):
    case = make_case(rng, tokens, dim, inter, experts, top_k, idle, device=device)
    for expert in idle:
        assert not (case["topk_ids"] == expert).any()
    out = poisoned(case["hidden"])
    kwargs = {"chunk_tokens": chunk} if chunk else {}
    fused_moe(**case, out=out, **kwargs)
    check_close(out, fused_moe_reference(**case))


def test_reference_matches_per_token_formula(rng):
    case = make_case(rng, 4, 8, 6, 3, 2)
    got = fused_moe_reference(**case)
    inter = 6
    for t in range(4):
        want = torch.zeros(8)
        for k in range(2):
            e = int(case["topk_ids"][t, k])
            x = case["hidden"][t]
            gate, up = case["w_gate_up"][e, :inter] @ x, case["w_gate_up"][e, inter:] @ x
            want += case["topk_weights"][t, k] * (case["w_down"][e] @ (F.silu(gate) * up))
        assert torch.allclose(got[t], want, atol=1e-5)


def test_align_by_expert_pads_each_expert_to_whole_tiles():
    topk_ids = torch.tensor([[2, 0], [2, 3], [0, 2]])  # expert 1 idle
    sorted_pairs, tile_expert, used_rows = align_by_expert(topk_ids, num_experts=4, block_m=2)
    pad = topk_ids.numel()
    used = int(used_rows)
    assert used == 2 + 4 + 2  # expert 0: 2 pairs, expert 2: 3 -> 4, expert 3: 1 -> 2
    tiles = sorted_pairs[:used].view(-1, 2).tolist()
    assert tiles == [[1, 4], [0, 2], [5, pad], [3, pad]]
    assert tile_expert[: used // 2].tolist() == [0, 2, 2, 3]
    assert (tile_expert[used // 2 :] == 4).all() and (sorted_pairs[used:] == pad).all()


def test_stack_expert_weights_from_linear_modules(rng, check_close):
    class Expert(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gate_proj = nn.Linear(12, 5, bias=False)
            self.up_proj = nn.Linear(12, 5, bias=False)
            self.down_proj = nn.Linear(5, 12, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))

    experts = [Expert() for _ in range(3)]
    w_gate_up, w_down = stack_expert_weights(experts)
    assert w_gate_up.shape == (3, 10, 12) and w_down.shape == (3, 12, 5)
    hidden = torch.randn(4, 12, generator=rng)
    topk_ids = torch.tensor([[0, 2], [1, 0], [2, 1], [0, 1]])
    topk_weights = torch.rand(4, 2, generator=rng)
    with torch.no_grad():
        want = sum(
            topk_weights[:, k, None] * torch.stack([experts[int(e)](h) for h, e in zip(hidden, topk_ids[:, k])])
            for k in range(2)
        )
        check_close(fused_moe(hidden, w_gate_up, w_down, topk_ids, topk_weights), want)


def test_shape_errors_say_what_is_wrong(rng):
    case = make_case(rng, 2, 8, 4, 2, 1)
    case["w_down"] = case["w_down"].transpose(1, 2)
    with pytest.raises(ValueError, match=r"w_down must be \[E, D, I\]"):
        fused_moe(**case)
