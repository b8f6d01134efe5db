"""Next-token sampling: greedy, temperature, top-k, top-p, per-sample seeded noise, logprobs.

Returned logprobs are those of the model's raw distribution (log_softmax of the logits), as
vLLM reports them, whatever the temperature or truncation used to draw the token.

One call per batch, no per-row work in the usual case: the nucleus comes from the best
NUCLEUS_CANDIDATES tokens of each row when they hold it (checked exactly), and each sample's
noise for those tokens is a counter-based hash of its seed and how many tokens it has drawn
(`SeedStream`): a handful of tensor ops for the whole batch, reproducible whatever batch a
sample lands in. Rows that truncate nothing, or whose kept set leaves the candidates (flat
distributions), are drawn over the whole vocabulary with the same hashed noise (their nucleus
from the best WIDE_CANDIDATES tokens when those hold it, else from a full sort). The usual case is
one fixed-shape function (`draw_candidates`), which the engine compiles with its decode step.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from serving.params import SamplingParams

NUCLEUS_CANDIDATES = 64
WIDE_CANDIDATES = 1024  # second try for rows whose nucleus leaves the first candidates, before a full sort


@dataclass
class SampledToken:
    token_id: int
    logprob: float
    top_logprobs: dict[int, float] | None


@dataclass(eq=False)
class SeedStream:
    """A sample's source of randomness: a 63-bit key and the number of draws made so far."""

    key: int
    draws: int = 0


# murmur3's 32-bit finalizer constants as signed int32 (int32 products vectorize; int64 do not)
_MIX1 = 0x85EBCA6B - (1 << 32)
_MIX2 = 0xC2B2AE35 - (1 << 32)
_GOLDEN = 0x9E3779B1 - (1 << 32)


def _shift_right(z: torch.Tensor, bits: int) -> torch.Tensor:
    """Logical (unsigned) right shift of int32."""
    return (z >> bits) & ((1 << (32 - bits)) - 1)


def _fmix32(h: torch.Tensor) -> torch.Tensor:
    h = (h ^ _shift_right(h, 16)) * _MIX1
    h = (h ^ _shift_right(h, 13)) * _MIX2
    return h ^ _shift_right(h, 16)


def _as_int32(x: torch.Tensor) -> torch.Tensor:
    """The low 32 bits of int64 values, as int32 (two's complement)."""
    return (((x & 0xFFFFFFFF) ^ 0x80000000) - 0x80000000).to(torch.int32)


def uniform_noise(keys: torch.Tensor, draws: torch.Tensor, vocab: int, token_ids: torch.Tensor | None = None) -> torch.Tensor:
    """Float32 uniforms in (0, 1) (24 random bits), one per (row, token): a murmur3-finalizer
    hash of (key, draw * vocab + token). token_ids [B, C] picks the tokens (default: the whole
    vocabulary, [B, vocab]); a token's value does not depend on which others are drawn."""
    if token_ids is None:
        token_ids = torch.arange(vocab, device=keys.device)[None, :]
    counter = _as_int32(draws[:, None] * vocab + token_ids)
    low, high = _as_int32(keys)[:, None], _as_int32(keys >> 32)[:, None]
    h = _fmix32(_fmix32(counter * _GOLDEN + low) ^ high)  # int32 arithmetic wraps
    return (_shift_right(h, 8).to(torch.float32) + 0.5) * (1.0 / (1 << 24))


def _nucleus_mask(sorted_logits: torch.Tensor, top_k: torch.Tensor, top_p: torch.Tensor, normalizer: torch.Tensor) -> torch.Tensor:
    """Drop mask over rank-sorted logits [B, C]: ranks >= top_k, and ranks whose strictly
    better tokens hold >= top_p of the (top-k restricted) mass (normalizer: its logsumexp)."""
    ranks = torch.arange(sorted_logits.shape[-1], device=sorted_logits.device)[None, :]
    drop = ranks >= top_k[:, None]
    probs = torch.exp(sorted_logits - normalizer[:, None]).masked_fill(drop, 0.0)
    mass_before = torch.cumsum(probs, dim=-1) - probs  # probability of strictly better tokens
    drop = drop | (mass_before >= top_p[:, None])
    drop[:, 0] = False  # the most likely token always survives
    return drop


TOP_TOKENS_CHUNK = 32  # see top_tokens


def top_tokens(logits: torch.Tensor, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """torch.topk(logits, width) over the last dimension (values sorted, best first; ids), in two
    stages for a large vocabulary: the best `width` tokens lie in the `width` chunks of
    TOP_TOKENS_CHUNK tokens with the largest maxima (each chunk holding one of them has its
    maximum at least as large as the width-th value), so only those chunks are searched. A
    vocabulary-wide top-k runs ~36 us a row at 16k tokens on the development CPU; this
    ~28 us, ~3x faster at Qwen's 152k. Ties may pick other tokens of equal value."""
    vocab = logits.shape[-1]
    chunks = -(-vocab // TOP_TOKENS_CHUNK)
    if chunks < 8 * width:
        return torch.topk(logits, width, dim=-1)
    spare = chunks * TOP_TOKENS_CHUNK - vocab
    padded = F.pad(logits, (0, spare), value=float("-inf")) if spare else logits
    best_chunks = padded.reshape(*logits.shape[:-1], chunks, TOP_TOKENS_CHUNK).amax(dim=-1).topk(width, dim=-1).indices
    offsets = torch.arange(TOP_TOKENS_CHUNK, device=logits.device)
    columns = (best_chunks[..., None] * TOP_TOKENS_CHUNK + offsets).flatten(-2)
    values, picked = padded.gather(-1, columns).topk(width, dim=-1)
    return values, columns.gather(-1, picked).clamp(max=vocab - 1)


def _candidates(logits: torch.Tensor, top_k: torch.Tensor, top_p: torch.Tensor, width: int = NUCLEUS_CANDIDATES):
    """Each row's `width` best tokens, with those outside its top-k / top-p set to -inf:
    (ids [B, C], logits [B, C], exact [B]). exact[i] says row i's kept set lies inside its
    candidates (top-k inside them, or no top-k and the candidates hold top_p of the mass)."""
    vocab = logits.shape[-1]
    k = torch.where(top_k > 0, top_k.clamp(max=vocab), torch.full_like(top_k, vocab))
    width = min(vocab, width)
    cand_logits, cand_ids = top_tokens(logits, width)  # sorted, best first
    k_in_cands = k <= width
    beyond_k = torch.arange(width, device=logits.device)[None, :] >= k[:, None]
    normalizer = torch.where(
        k_in_cands, torch.logsumexp(cand_logits.masked_fill(beyond_k, float("-inf")), dim=-1), torch.logsumexp(logits, dim=-1)
    )
    drop = _nucleus_mask(cand_logits, k, top_p, normalizer)
    covered = torch.exp(cand_logits - normalizer[:, None]).sum(dim=-1) >= top_p
    exact = k_in_cands | ((k == vocab) & covered)
    return cand_ids, cand_logits.masked_fill(drop, float("-inf")), exact, k


def _truncate(logits: torch.Tensor, top_k: torch.Tensor, top_p: torch.Tensor) -> torch.Tensor:
    """Mask (to -inf) tokens outside each row's top-k and top-p nucleus. logits [B,V] (already
    divided by temperature); top_k [B] (<= 0: off); top_p [B] (1: off). The nucleus keeps a token
    when its strictly more likely tokens hold less than top_p of the mass."""
    vocab = logits.shape[-1]
    if not (bool((top_k > 0).any()) or bool((top_p < 1).any())):
        return logits
    cand_ids, cand_logits, exact, k = _candidates(logits, top_k, top_p)
    untouched = (k == vocab) & (top_p >= 1)  # rows that truncate nothing
    exact = exact | untouched
    out = torch.full_like(logits, float("-inf")).scatter_(-1, cand_ids, cand_logits)
    out = torch.where(untouched[:, None], logits, out)
    if not bool(exact.all()):  # wider candidates first: a top-1024 costs a sixth of a full sort at 16k tokens
        rows = (~exact).nonzero()[:, 0]
        wide_ids, wide_logits, wide_exact, _ = _candidates(logits[rows], top_k[rows], top_p[rows], WIDE_CANDIDATES)
        out[rows] = torch.full_like(logits[rows], float("-inf")).scatter_(-1, wide_ids, wide_logits)
        exact[rows] = wide_exact
    if not bool(exact.all()):
        rows = (~exact).nonzero()[:, 0]
        sorted_logits, order = torch.sort(logits[rows], dim=-1, descending=True)
        ranks = torch.arange(vocab, device=logits.device)[None, :]
        row_norm = torch.logsumexp(sorted_logits.masked_fill(ranks >= k[rows][:, None], float("-inf")), dim=-1)
        row_drop = _nucleus_mask(sorted_logits, k[rows], top_p[rows], row_norm)
        out[rows] = torch.empty_like(sorted_logits).scatter_(-1, order, sorted_logits.masked_fill(row_drop, float("-inf")))
    return out


def _full_vocabulary_noise(generators: list, shape: tuple[int, int], device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """E ~ Exp(1) over the whole vocabulary. SeedStream rows take the same hashed uniforms as
    the candidate draw (`uniform_noise`: a token's noise does not depend on which tokens are
    drawn, so a row draws the same token whichever path it takes), all rows in one pass; a
    torch.Generator row takes one generator call."""
    seeded = [row for row, g in enumerate(generators) if isinstance(g, SeedStream)]
    noise = torch.empty(shape, dtype=dtype, device=device)
    if seeded:
        keys = torch.tensor([generators[r].key for r in seeded], dtype=torch.long, device=device)
        draws = torch.tensor([generators[r].draws for r in seeded], dtype=torch.long, device=device)
        noise[seeded] = -torch.log(uniform_noise(keys, draws, shape[1])).to(dtype)
    for row, g in enumerate(generators):
        if not isinstance(g, SeedStream):
            noise[row].exponential_(generator=g)
    return noise


def draw_candidates(
    logits: torch.Tensor,
    temperature: torch.Tensor,
    top_k: torch.Tensor,
    top_p: torch.Tensor,
    keys: torch.Tensor,
    draws: torch.Tensor,
    greedy: torch.Tensor,
):
    """The usual case of a whole batch in one pass (fixed shapes, no host syncs, so it compiles
    into one kernel): (token [B], raw logprob of it [B], settled [B]). Greedy rows take the
    argmax; a truncating row whose kept set lies inside its candidates draws among them with its
    SeedStream's hashed noise (keys, draws). Rows not settled must be drawn by the caller over the
    whole vocabulary. temperature must be 1 (not 0) on greedy rows."""
    truncates = (top_k > 0) | (top_p < 1)
    raw_logprobs = torch.log_softmax(logits, dim=-1)
    scaled = logits / temperature[:, None]
    cand_ids, cand_logits, exact, _ = _candidates(scaled, top_k, top_p)
    probs = torch.softmax(cand_logits, dim=-1)
    noise = -torch.log(uniform_noise(keys, draws, logits.shape[-1], cand_ids))
    drawn = cand_ids.gather(-1, torch.argmax(probs / noise.to(probs.dtype), dim=-1, keepdim=True))[:, 0]
    token = torch.where(greedy, torch.argmax(logits, dim=-1), drawn)
    settled = greedy | (exact & truncates)
    return token, raw_logprobs.gather(-1, token[:, None])[:, 0], settled


Drawer = Callable[..., tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


DrawInputs = tuple[torch.Tensor, torch.Tensor]  # (reals [2, B], ints [4, B]): see draw_inputs


@torch.inference_mode()  # inference tensors, as the compiled step was warmed up with
def draw_inputs(params: list[SamplingParams], generators: list, device: torch.device,
                compute: torch.dtype = torch.float32) -> DrawInputs:
    """draw_candidates' per-row arguments packed in two tensors (two host-to-tensor copies for
    the whole batch; each torch.tensor call costs ~10 us): reals = (temperature, top_p), ints =
    (top_k, greedy, seed key, draws made). `unpack_draw_inputs` gives the arguments."""
    seeded = all(isinstance(g, SeedStream) for g in generators)
    reals = torch.tensor([[1.0 if p.greedy else p.temperature for p in params], [p.top_p for p in params]], dtype=compute, device=device)
    ints = torch.tensor(
        [[p.top_k for p in params], [p.greedy for p in params], [g.key if seeded else 0 for g in generators],
         [g.draws if seeded else 0 for g in generators]],
        dtype=torch.long, device=device,
    )
    return reals, ints


def unpack_draw_inputs(reals: torch.Tensor, ints: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """(temperature, top_k, top_p, keys, draws, greedy): draw_candidates' arguments after the logits."""
    return reals[0], ints[0], reals[1], ints[2], ints[3], ints[1].bool()


@torch.inference_mode()  # tensors without autograd keys, as the compiled drawer was warmed up with
def sample(
    logits: torch.Tensor,
    params: list[SamplingParams],
    generators: list[SeedStream | torch.Generator],
    drawer: Drawer | None = None,
    inputs: DrawInputs | None = None,
    drawn: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
) -> list[SampledToken]:
    """One token per row of logits [B, V]; row i uses params[i] and draws from generators[i]
    (a SeedStream, or a torch.Generator for callers that hold one). `drawer` replaces
    draw_candidates for float32 logits (the engine passes its compiled copy). `inputs`: these
    rows' draw_inputs when the caller built them already (float32 logits only), and `drawn`:
    draw_candidates' result for them on these logits (the engine's compiled decode step draws
    with its forward)."""
    compute = torch.float64 if logits.dtype == torch.float64 else torch.float32
    logits = logits.to(compute)
    device = logits.device
    greedy_list = [p.greedy for p in params]
    seeded = all(isinstance(g, SeedStream) for g in generators)
    if inputs is None or compute != torch.float32:
        inputs, drawn = draw_inputs(params, generators, device, compute), None
    arguments = unpack_draw_inputs(*inputs)
    if drawn is None:
        draw = drawer if drawer is not None and compute == torch.float32 else draw_candidates
        drawn = draw(logits, *arguments)
    token, logprob, settled = drawn
    temperature, top_k, top_p = arguments[0], arguments[1], arguments[2]
    packed = torch.stack([token.to(compute), logprob.to(compute), settled.to(compute)]).tolist()
    chosen_list = [int(t) for t in packed[0]]
    chosen_logprobs = packed[1]
    if not seeded:  # torch.Generator rows draw over the whole vocabulary
        packed[2] = greedy_list
    wide = [i for i, s in enumerate(packed[2]) if not s]
    if wide:
        # Exponential race over the whole vocabulary: argmax_i p_i / E_i with E_i ~ Exp(1)
        # draws i with probability p_i (flat rows, no truncation, or torch.Generator callers).
        index = torch.tensor(wide, device=device)
        kept = _truncate(logits[index] / temperature[index][:, None], top_k[index], top_p[index])
        probs = torch.softmax(kept, dim=-1)
        noise = _full_vocabulary_noise([generators[i] for i in wide], tuple(probs.shape), device, probs.dtype)
        wide_tokens = torch.argmax(probs / noise, dim=-1)
        wide_logprobs = torch.log_softmax(logits[index], dim=-1).gather(-1, wide_tokens[:, None])[:, 0]
        for i, t, lp in zip(wide, wide_tokens.tolist(), wide_logprobs.tolist()):
            chosen_list[i], chosen_logprobs[i] = t, lp
    for g, is_greedy in zip(generators, greedy_list):
        if isinstance(g, SeedStream) and not is_greedy:
            g.draws += 1

    results = []
    max_top = max((p.logprobs or 0) for p in params)
    if max_top:
        top_values, top_ids = torch.topk(torch.log_softmax(logits, dim=-1), max_top, dim=-1)
    for i, p in enumerate(params):
        top = None
        if p.logprobs is not None:
            k = p.logprobs
            top = dict(zip(top_ids[i, :k].tolist(), top_values[i, :k].tolist())) if k else {}
        results.append(SampledToken(chosen_list[i], chosen_logprobs[i], top))
    return results


_COMPILED_DRAW: Drawer | None = None
_COMPILED_DRAW_LOCK = threading.Lock()


def compiled_draw_candidates(options: dict | None = None) -> Drawer:
    """draw_candidates through torch.compile (one per process, dynamic shapes): the ~40 small
    ops of a step's sampling become one fused kernel (the engine uses it in decode_mode compile).
    `options`: inductor settings, taken by the first call."""
    global _COMPILED_DRAW
    with _COMPILED_DRAW_LOCK:
        if _COMPILED_DRAW is None:
            _COMPILED_DRAW = torch.compile(draw_candidates, dynamic=True, fullgraph=True, options=options)
        return _COMPILED_DRAW


def packed_drawer_inputs(batch: int, vocab: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(logits, reals, ints): varied inputs (peaked and flat rows, greedy, top-k, top-p, none), the
    draw arguments packed as `draw_inputs` packs them, to check a compiled drawer against the eager one."""
    g = torch.Generator().manual_seed(seed)
    spread = torch.where(torch.arange(batch) % 3 == 2, 0.1, 6.0)[:, None]
    logits = torch.randn(batch, vocab, generator=g) * spread
    cycle = torch.arange(batch) % 4
    greedy = cycle == 3
    reals = torch.stack([torch.where(greedy, 1.0, 0.8), torch.where(cycle == 0, 0.95, 1.0)])
    ints = torch.stack([
        torch.where(cycle == 1, 5, 0), greedy.long(),
        torch.randint(0, 1 << 62, (batch,), generator=g), torch.randint(0, 1000, (batch,), generator=g),
    ])
    return logits, reals, ints


def drawer_inputs(batch: int, vocab: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """packed_drawer_inputs unpacked: draw_candidates' arguments laid out as `sample` passes them
    (views of one real and one integer tensor), so a drawer warmed up on them takes sample's calls unchanged."""
    logits, reals, ints = packed_drawer_inputs(batch, vocab, seed)
    return (logits, *unpack_draw_inputs(reals, ints))
