"""User-facing knobs: per-request sampling parameters and the engine's configuration.

Both validate on construction and raise ValueError naming the offending field, so a bad
request is rejected before it reaches the step loop (the engine keeps serving everyone else).
"""

from __future__ import annotations

from dataclasses import dataclass


class PromptTooLongError(ValueError):
    """A prompt that leaves no room to generate within the model's context. Callers that build
    prompts (the search's model policy) catch it to skip that one request."""


@dataclass
class SamplingParams:
    """How to sample one request (vLLM names and meanings).

    temperature 0 means greedy. top_k <= 0 disables top-k; top_p 1.0 disables nucleus sampling.
    logprobs=None returns no logprobs; logprobs=k >= 0 returns the log-probability of every
    sampled token under the model's raw distribution (log_softmax of the logits, before
    temperature/top-k/top-p) plus the k most likely alternatives per position.
    stop strings need a tokenizer (the engine detokenizes to find them); the stop string itself
    is cut from the returned text.
    """

    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = -1
    max_tokens: int = 16
    stop: list[str] | str | None = None
    stop_token_ids: list[int] | None = None
    seed: int | None = None
    logprobs: int | None = None
    ignore_eos: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.stop, str):
            self.stop = [self.stop]
        self.stop = list(self.stop or [])
        self.stop_token_ids = list(self.stop_token_ids or [])
        _require(isinstance(self.n, int) and self.n >= 1, "n", f"must be an integer >= 1, got {self.n!r}")
        _require(
            isinstance(self.temperature, (int, float)) and self.temperature >= 0,
            "temperature",
            f"must be >= 0 (0 = greedy), got {self.temperature!r}",
        )
        _require(
            isinstance(self.top_p, (int, float)) and 0 < self.top_p <= 1,
            "top_p",
            f"must lie in (0, 1], got {self.top_p!r}",
        )
        _require(isinstance(self.top_k, int), "top_k", f"must be an integer (<= 0 disables it), got {self.top_k!r}")
        _require(
            isinstance(self.max_tokens, int) and self.max_tokens >= 1,
            "max_tokens",
            f"must be an integer >= 1, got {self.max_tokens!r}",
        )
        for s in self.stop:
            _require(isinstance(s, str) and s != "", "stop", f"entries must be non-empty strings, got {s!r}")
        for t in self.stop_token_ids:
            _require(isinstance(t, int) and t >= 0, "stop_token_ids", f"entries must be token ids >= 0, got {t!r}")
        _require(
            self.seed is None or isinstance(self.seed, int), "seed", f"must be an integer or None, got {self.seed!r}"
        )
        _require(
            self.logprobs is None or (isinstance(self.logprobs, int) and self.logprobs >= 0),
            "logprobs",
            f"must be None or an integer >= 0 (number of top alternatives), got {self.logprobs!r}",
        )

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def check_against_model(self, vocab_size: int, has_tokenizer: bool) -> None:
        """Checks that need the model: token ids inside the vocabulary, stop strings decodable."""
        for t in self.stop_token_ids:
            _require(t < vocab_size, "stop_token_ids", f"token id {t} is unknown (vocab_size is {vocab_size})")
        _require(
            has_tokenizer or not self.stop,
            "stop",
            "stop strings need a tokenizer: pass tokenizer= to the Engine or use stop_token_ids",
        )
        if self.logprobs is not None:
            _require(self.logprobs <= vocab_size, "logprobs", f"asks for {self.logprobs} alternatives, vocab is {vocab_size}")


@dataclass
class EngineConfig:
    """Engine sizing. The latent pool's size comes from cache_memory_bytes unless num_blocks is set.

    max_num_batched_tokens bounds the tokens of one forward step (long prompts are prefilled in
    chunks of at most this many tokens); max_num_seqs bounds the sequences of one step.
    """

    block_size: int = 16
    cache_memory_bytes: int = 256 * 1024**2
    num_blocks: int | None = None
    max_num_seqs: int = 256
    max_num_batched_tokens: int = 2048
    max_model_len: int | None = None
    enable_prefix_caching: bool = True
    seed: int = 0
    record_batch_sizes: int = 100_000
    # How decode-only steps run: auto | eager | compile | cuda_graph (serving/decode_graph.py;
    # with auto, PROVER_DECODE_MODE may choose). auto: CUDA graphs on a GPU, torch.compile on CPU.
    decode_mode: str = "auto"

    def __post_init__(self) -> None:
        _require(self.block_size >= 1, "block_size", f"must be >= 1, got {self.block_size}")
        _require(self.cache_memory_bytes > 0, "cache_memory_bytes", f"must be > 0, got {self.cache_memory_bytes}")
        _require(self.num_blocks is None or self.num_blocks >= 1, "num_blocks", f"must be >= 1, got {self.num_blocks}")
        _require(self.max_num_seqs >= 1, "max_num_seqs", f"must be >= 1, got {self.max_num_seqs}")
        _require(
            self.max_num_batched_tokens >= 1,
            "max_num_batched_tokens",
            f"must be >= 1, got {self.max_num_batched_tokens}",
        )
        _require(
            self.decode_mode in ("auto", "eager", "compile", "cuda_graph"),
            "decode_mode",
            f"must be one of auto, eager, compile, cuda_graph; got {self.decode_mode!r}",
        )
        _require(
            self.max_model_len is None or self.max_model_len >= 1,
            "max_model_len",
            f"must be >= 1, got {self.max_model_len}",
        )


def _require(ok: bool, field_name: str, message: str) -> None:
    if not ok:
        raise ValueError(f"{field_name}: {message}")
