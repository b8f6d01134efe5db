"""Fast decode steps: the forward of a batch in which every sequence feeds one token, run
through torch.compile (CPU) or replayed from captured CUDA graphs (GPU), eager otherwise.

A decode step of a small model is mostly fixed per-step work (hundreds of small kernels
launched from Python); compiling or capturing the step once removes it. Modes
(`EngineConfig.decode_mode`; when that is auto, the environment variable PROVER_DECODE_MODE,
if set, chooses instead, e.g. PROVER_DECODE_MODE=eager for tests and debugging):

  eager       the general path only (ModelRunner's AttentionContext); nothing compiled.
  compile     torch.compile of the model's forward over a DecodeContext, dynamic batch size
              (one graph for batch 1, one for the rest; block tables are padded to >= 2
              blocks so the width never specialises), for batches up to COMPILE_MAX_BATCH (by model kind).
              Compiled in a background thread when the engine starts; steps run eager until
              it is ready, so nobody waits for it.
  cuda_graph  per batch-size bucket (1, 2, 4, 8, 16, then multiples of 16 up to max_num_seqs)
              the forward is captured on static buffers; a step pads its batch to the next
              bucket (padding rows write to the pool's scratch slot). Captured at start-up.
  auto        cuda_graph on a CUDA device, compile elsewhere.

Whatever fails to compile or capture (no C++ compiler, an op inductor cannot lower, a
kernel that syncs the host) is logged once and that path stays eager: a step never fails
because of this module. A recompilation after warm-up is refused (that step runs eager), so
no request ever waits the tens of seconds a compile takes.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections.abc import Callable

import torch

from serving.attention import DecodeContext
from serving.cache import LatentCachePool
from serving.sampler import (
    DrawInputs,
    compiled_draw_candidates,
    draw_candidates,
    drawer_inputs,
    packed_drawer_inputs,
    unpack_draw_inputs,
)

log = logging.getLogger(__name__)

DECODE_MODES = ("auto", "eager", "compile", "cuda_graph")
MODE_ENV = "PROVER_DECODE_MODE"
MIN_TABLE_WIDTH = 2  # a width-1 block table would specialise the compiled graph
# Largest batch the compiled CPU graph runs, by cache kind. Above it the eager path wins on CPU:
# its cascade attention reads a shared prompt once for all n samples, and its routed experts
# compute only the chosen experts (the graph, with static shapes, runs every expert on every
# token). MLA (shipped policy, 200-token prompt, n samples): compiled batch-64 steps 8.9-9.9 ms
# against 11.3-13.5 ms eager, batch 128 no better than eager (17-25 against 18-20 ms). Dense
# (GQA): at batch 64 (n=8 whole proofs, ~400-token contexts) the compiled forward took ~41 ms
# against ~22 ms eager, whose cascade reads each shared prompt once.
COMPILE_MAX_BATCH = {"latent": 64, "dense": 32}
RECOMPILE_LIMIT = 64
# Warm-up: batch 1 (its own graph), then the dynamic graph, checked once more. No batch equals a
# fixed size of the inputs (2 and 4 rows of packed draw inputs) or the table width: duck shaping
# would tie them into one symbol and the graph would hold only while they stay equal.
WARMUP_BATCHES = (1, 3, 5)
WARMUP_TABLE_WIDTH = 6
# Inductor writes the graph's launcher in C++ instead of Python: a decode step runs ~100 kernels
# and products, and the Python launcher's per-kernel allocation, stride checks and calls cost
# ~0.12 ms of a 1.2 ms batch-1 step (measured, shipped checkpoint, one thread).
COMPILE_OPTIONS = {"cpp_wrapper": True}

# Background compiles still running when the process exits: a daemon thread inside torch's
# compiler at interpreter shutdown can abort the process ("terminate called without an active
# exception") after its work is done. At exit they stop at the next stage and are waited for.
_EXITING = threading.Event()
_WARMING: "weakref.WeakSet[DecodeGraphs]" = weakref.WeakSet()


@atexit.register
def _finish_warmups() -> None:
    _EXITING.set()
    for graphs in list(_WARMING):
        if graphs._warmup is not None:
            graphs._warmup.join(timeout=300)  # graphs of the shared decode function (about 3 per model instance)


def resolve_mode(requested: str, device: torch.device) -> str:
    """The mode a DecodeGraphs on `device` runs: `requested`, or for auto the env's choice if
    set; auto picks cuda_graph on CUDA and compile elsewhere; cuda_graph off CUDA runs compile."""
    mode, source = requested, "EngineConfig.decode_mode"
    if mode == "auto" and os.environ.get(MODE_ENV, "").strip():
        mode, source = os.environ[MODE_ENV].strip().lower(), MODE_ENV
    if mode not in DECODE_MODES:
        raise ValueError(f"{source}: expected one of {', '.join(DECODE_MODES)}, got {mode!r}")
    if mode == "auto":
        return "cuda_graph" if device.type == "cuda" else "compile"
    if mode == "cuda_graph" and device.type != "cuda":
        return "compile"
    return mode


def batch_buckets(max_num_seqs: int) -> list[int]:
    """Batch sizes with a captured graph: 1, 2, 4, 8, 16, then every multiple of 16, up to and
    including max_num_seqs (as vLLM and nano-vllm capture)."""
    sizes = [b for b in (1, 2, 4, 8) if b < max_num_seqs]
    sizes += list(range(16, max_num_seqs, 16))
    sizes.append(max_num_seqs)
    return sorted(set(sizes))


def bucket_for(batch: int, buckets: list[int]) -> int | None:
    """Smallest bucket holding `batch` rows, or None when the batch is larger than all of them."""
    for size in buckets:
        if size >= batch:
            return size
    return None


class DecodeGraphs:
    """Runs decode-only steps fast when it can. `run(ids, positions, slots, tables, lens)` takes
    one row per sequence (python lists; tables are block-id lists) and returns logits [B, vocab],
    or None when this step must take the eager path (not ready, too large, or failed)."""

    def __init__(
        self,
        model: torch.nn.Module,
        pool: LatentCachePool,
        device: torch.device,
        mode: str,
        max_num_seqs: int,
        max_blocks_per_seq: int,
        background: bool = True,
    ) -> None:
        self.model = model
        self.pool = pool
        self.device = device
        self.mode = resolve_mode(mode, device)
        self.max_num_seqs = max_num_seqs
        self.max_blocks_per_seq = max(max_blocks_per_seq, MIN_TABLE_WIDTH)
        self.compile_max_batch = COMPILE_MAX_BATCH["latent" if isinstance(pool, LatentCachePool) else "dense"]
        self.error: str | None = None  # why the fast path is off, for reports
        self.num_fast_steps = 0
        self.num_eager_steps = 0
        self._warned = False
        self._ready = threading.Event()
        self._compiled: Callable | None = None
        # the batch's sampling, compiled with the step (serving.sampler.sample's `drawer`); None: eager
        self.drawer: Callable | None = None
        self._graphs: dict[int, _CapturedStep] = {}
        self._warmup: threading.Thread | None = None
        if self.mode == "compile":
            if background:
                self._warmup = threading.Thread(target=self._compile, name="decode-compile", daemon=True)
                _WARMING.add(self)
                self._warmup.start()
            else:
                self._compile()
        elif self.mode == "cuda_graph":
            self._capture_all()

    # ---- status ----

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the compile/capture finished (benchmarks call it before timing)."""
        if self._warmup is not None:
            self._warmup.join(timeout)
        return self.ready

    def describe(self) -> str:
        if self.mode == "eager":
            return "eager"
        if self.error:
            return f"{self.mode} unavailable, eager ({self.error})"
        return self.mode if self.ready else f"{self.mode} (warming up; eager meanwhile)"

    # ---- the step ----

    @property
    def draws_with_step(self) -> bool:
        """True when `run` wants the batch's draw inputs: the compiled step samples too."""
        return self.mode == "compile" and self._compiled is not None

    def run(
        self, ids: list[int], positions: list[int], slots: list[int], tables: list[list[int]], lens: list[int],
        draw: DrawInputs | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...] | None] | None:
        """(logits, drawn) of a decode-only batch, or None when this step must run eager. drawn is
        draw_candidates' (token, logprob, settled) on those logits with `draw` (the rows' draw
        inputs), computed in the same compiled call; None when not given or not drawn here. The
        compiled step needs `draw` (it always samples): without it the step runs eager."""
        if (
            self.mode == "eager" or not self.ready or self.error
            or (self.mode == "compile" and (draw is None or len(ids) > self.compile_max_batch))
        ):
            self.num_eager_steps += 1
            return None
        try:
            if self.mode == "compile":
                logits, *drawn = self._run_compiled(ids, positions, slots, tables, lens, draw)
                out = logits, tuple(drawn)
            else:
                out = self._replay(ids, positions, slots, tables, lens), None
        except Exception as e:  # noqa: BLE001 - a refused recompile or a bad graph: eager for this step
            if not self._warned:
                self._warned = True
                log.warning("decode %s step failed, running it eager (said once): %r", self.mode, e)
            out = None
        if out is None or out[0] is None:
            self.num_eager_steps += 1
            return None
        self.num_fast_steps += 1
        return out

    # ---- torch.compile (CPU) ----

    def _forward(self, ids, positions, slots, table, lens) -> torch.Tensor:
        return decode_forward(self.model, self.pool.layers, ids, positions, slots, table, lens, self.mode == "cuda_graph")

    def _compile(self) -> None:
        try:
            compiled = _compiled_decode_and_draw()
            vocab = self.model.config.vocab_size
            # Each model instance the process serves adds its own graphs (dynamo guards on the
            # module); the default limit of 8 would refuse the third or fourth model. Python floats
            # of the model (norm eps, softmax scale) are constants: as graph inputs each call would
            # wrap ~26 of them into tensors (~60 us a step). Duck shaping ties every input's batch
            # dimension into one symbol; the warm-up's other sizes must differ from its batches.
            with torch.inference_mode(), torch._dynamo.config.patch(recompile_limit=RECOMPILE_LIMIT, specialize_float=True):
                for batch in WARMUP_BATCHES:
                    if _EXITING.is_set():
                        return
                    rows = self._padding_inputs(batch, WARMUP_TABLE_WIDTH)
                    draw = packed_drawer_inputs(batch, vocab, seed=batch)[1:]
                    eager = self._forward(*rows)
                    got, *drawn = compiled(self.model, self.pool.layers, *rows, False, *draw)
                    if not torch.allclose(got, eager, atol=1e-3, rtol=1e-3):
                        raise RuntimeError(f"compiled decode differs from eager by {float((got - eager).abs().max()):.2e}")
                    _check_draws(draw_candidates(got, *unpack_draw_inputs(*draw)), drawn)
            self._compiled = compiled
            if not _EXITING.is_set():
                self.drawer = _checked_drawer(self.model.config.vocab_size)
        except Exception as e:  # noqa: BLE001 - any failure means: stay eager, say why
            self.error = f"torch.compile failed: {type(e).__name__}: {str(e).strip().splitlines()[0][:200] if str(e).strip() else ''}"
            log.warning("decode step compile failed; the engine stays eager: %s", self.error)
        finally:
            self._ready.set()

    def _padding_inputs(self, batch: int, width: int):
        """Inputs of `batch` rows that only touch the scratch slot (for warm-up and capture)."""
        long = dict(dtype=torch.long, device=self.device)
        return (
            torch.zeros(batch, **long),
            torch.zeros(batch, **long),
            torch.full((batch,), self.pool.scratch_slot, **long),
            torch.full((batch, width), self.pool.num_blocks, dtype=torch.int32, device=self.device),
            torch.ones(batch, dtype=torch.int32, device=self.device),
        )

    def _run_compiled(self, ids, positions, slots, tables, lens, draw: DrawInputs) -> tuple[torch.Tensor, ...]:
        width = max(MIN_TABLE_WIDTH, max(len(t) for t in tables))
        table = torch.tensor([t + [0] * (width - len(t)) for t in tables], dtype=torch.int32)
        long = dict(dtype=torch.long, device=self.device)
        inputs = (
            torch.tensor(ids, **long),
            torch.tensor(positions, **long),
            torch.tensor(slots, **long),
            table.to(self.device),
            torch.tensor(lens, dtype=torch.int32, device=self.device),
        )
        # Only the guards that tell the compiled graphs apart are checked (batch 1 or not): the
        # full set walks every weight each call (~0.3 ms); the model's tensors never change identity.
        with torch.compiler.set_stance("fail_on_recompile", skip_guard_eval_unsafe=True):
            return self._compiled(self.model, self.pool.layers, *inputs, False, *draw)

    # ---- CUDA graphs (GPU) ----

    def _capture_all(self) -> None:
        try:
            buckets = batch_buckets(self.max_num_seqs)
            pool = None
            for size in reversed(buckets):  # largest first: smaller graphs reuse its memory
                step = _CapturedStep(self, size, self.max_blocks_per_seq, pool)
                pool = step.graph.pool()
                self._graphs[size] = step
        except Exception as e:  # noqa: BLE001 - stay eager, say why
            self._graphs.clear()
            self.error = f"CUDA graph capture failed: {type(e).__name__}: {e}"
            log.warning("decode CUDA graph capture failed; the engine stays eager: %s", self.error)
        finally:
            self._ready.set()

    def _replay(self, ids, positions, slots, tables, lens) -> torch.Tensor | None:
        size = bucket_for(len(ids), sorted(self._graphs))
        if size is None or max(len(t) for t in tables) > self.max_blocks_per_seq:
            return None
        return self._graphs[size].replay(ids, positions, slots, tables, lens)


def decode_forward(model, layers, ids, positions, slots, table, lens, use_kernel: bool) -> torch.Tensor:
    """Logits [B, vocab] of a decode-only step (one token per row) over the pool `layers`."""
    context = DecodeContext(layers, slots, table, lens, use_kernel=use_kernel)
    return model(ids[None, :], positions=positions[None, :], cache=context)[0]


def decode_and_draw(model, layers, ids, positions, slots, table, lens, use_kernel: bool, reals, ints):
    """decode_forward's logits and draw_candidates' (token, logprob, settled) on them for the rows'
    packed draw inputs (serving.sampler.draw_inputs), in one call: compiled, it saves the sampler's
    own compiled call (~40 us of a ~1 ms batch-1 step). Packed, not as views: a view's storage
    offset would be one more symbol for the graph to guard on."""
    logits = decode_forward(model, layers, ids, positions, slots, table, lens, use_kernel)
    return (logits, *draw_candidates(logits, *unpack_draw_inputs(reals, ints)))


def _check_draws(want, got) -> None:
    """Raise unless compiled draws equal eager ones (tokens and settled exactly, logprobs to 1e-5)."""
    if not (torch.equal(want[0], got[0]) and torch.equal(want[2], got[2]) and torch.allclose(want[1], got[1], atol=1e-5)):
        raise RuntimeError("compiled sampling draws differ from eager")


def _checked_drawer(vocab: int) -> Callable | None:
    """The compiled sampler, warmed up (batch 1 specialises, then the dynamic graphs) and checked
    against the eager one; None (sampling stays eager, said once) if it fails or differs."""
    try:
        compiled = compiled_draw_candidates(COMPILE_OPTIONS)
        # no duck shaping: equal sizes in a warm-up call would be tied into one symbol
        with torch.inference_mode(), torch._dynamo.config.patch(recompile_limit=RECOMPILE_LIMIT), \
                torch.fx.experimental._config.patch(use_duck_shape=False):
            for batch in (1, 2, 7):
                inputs = drawer_inputs(batch, vocab, seed=batch)
                _check_draws(draw_candidates(*inputs), compiled(*inputs))
        return _WarmDrawer(compiled)
    except Exception as e:  # noqa: BLE001 - sampling stays eager, say why
        log.warning("compiled sampling unavailable; sampling stays eager: %s: %s", type(e).__name__, e)
        return None


class _WarmDrawer:
    """Calls the warmed-up compiled sampler; a call that would recompile (an input unlike the
    warm-up's) is drawn eagerly instead of waiting seconds for a compile. As for the decode
    step, only the guards that tell its graphs apart (batch 1 or not) are checked: the others
    (e.g. whether logits is a view) do not change the code's result; sample() passes float32
    CPU tensors only."""

    def __init__(self, compiled: Callable) -> None:
        self.compiled = compiled
        self.refused = 0  # batches sampled eagerly because they would have recompiled

    def __call__(self, *inputs):
        try:
            with torch.compiler.set_stance("fail_on_recompile", skip_guard_eval_unsafe=True):
                return self.compiled(*inputs)
        except Exception as e:  # noqa: BLE001 - a refused recompile: this batch samples eagerly
            self.refused += 1
            if self.refused == 1:
                log.warning("compiled sampling refused a batch, sampled eagerly (said once): %r", e)
            return draw_candidates(*inputs)


_COMPILED: Callable | None = None
_COMPILED_LOCK = threading.Lock()


def _compiled_decode_and_draw() -> Callable:
    """One compiled `decode_and_draw` per process, shared by every engine: the model and the
    pool are arguments, so a second engine (or a pool of another size: the sizes are dynamic)
    reuses the graphs instead of adding recompilations until dynamo's limit refuses them."""
    global _COMPILED
    with _COMPILED_LOCK:
        if _COMPILED is None:
            _COMPILED = torch.compile(decode_and_draw, dynamic=True, fullgraph=True, options=COMPILE_OPTIONS)
        return _COMPILED


class _CapturedStep:
    """One batch bucket's CUDA graph and the static buffers it reads and writes."""

    def __init__(self, owner: DecodeGraphs, size: int, width: int, memory_pool) -> None:
        self.size = size
        self.width = width
        self.scratch_slot = owner.pool.scratch_slot
        self.scratch_block = owner.pool.num_blocks
        self.inputs = owner._padding_inputs(size, width)
        stream = torch.cuda.Stream(owner.device)
        stream.wait_stream(torch.cuda.current_stream(owner.device))
        with torch.inference_mode(), torch.cuda.stream(stream):
            for _ in range(2):  # warm-up outside the graph (Triton autotuning, scratch buffers)
                owner._forward(*self.inputs)
        torch.cuda.current_stream(owner.device).wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.inference_mode(), torch.cuda.graph(self.graph, pool=memory_pool):
            self.logits = owner._forward(*self.inputs)

    def replay(self, ids, positions, slots, tables, lens) -> torch.Tensor:
        n = len(ids)
        host = pad_rows(ids, positions, slots, tables, lens, self.size, self.width, self.scratch_slot, self.scratch_block)
        for buffer, value in zip(self.inputs, host):
            buffer.copy_(value, non_blocking=True)
        self.graph.replay()
        return self.logits[:n].clone()  # the static output is overwritten by the next replay


def pad_rows(
    ids: list[int],
    positions: list[int],
    slots: list[int],
    tables: list[list[int]],
    lens: list[int],
    size: int,
    width: int,
    scratch_slot: int,
    scratch_block: int,
) -> tuple[torch.Tensor, ...]:
    """Host tensors of a bucket of `size` rows: the real rows, then padding rows that write to
    the scratch slot and attend over one scratch row (so nothing live is touched or read)."""
    pad = size - len(ids)
    if pad < 0:
        raise ValueError(f"pad_rows: {len(ids)} rows do not fit a bucket of {size}")
    table = torch.full((size, width), scratch_block, dtype=torch.int32)
    for row, blocks in enumerate(tables):
        if len(blocks) > width:
            raise ValueError(f"pad_rows: a block table of {len(blocks)} blocks exceeds the captured width {width}")
        table[row, : len(blocks)] = torch.tensor(blocks, dtype=torch.int32)
    return (
        torch.tensor(ids + [0] * pad, dtype=torch.long),
        torch.tensor(positions + [0] * pad, dtype=torch.long),
        torch.tensor(slots + [scratch_slot] * pad, dtype=torch.long),
        table,
        torch.tensor(lens + [1] * pad, dtype=torch.int32),
    )
