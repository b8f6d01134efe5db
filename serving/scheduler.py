"""Continuous batching: which sequences run in the next step and how many tokens each computes.

Every step: running sequences first (decodes, and the next chunk of partially prefilled
prompts), then waiting ones in arrival order while the token budget, the sequence limit and the
pool allow. When a running sequence cannot grow, the most recently admitted running sequence is
preempted: its blocks are released and it is recomputed later (with prefix-cache hits), never
failed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from serving.block_manager import BlockManager
from serving.cache import OutOfBlocksError
from serving.sequence import Sequence, SequenceStatus


@dataclass
class ScheduledSeq:
    seq: Sequence
    num_new_tokens: int  # tokens [num_computed, num_computed + num_new_tokens) are fed this step


class Scheduler:
    def __init__(self, block_manager: BlockManager, max_num_seqs: int, max_num_batched_tokens: int) -> None:
        self.block_manager = block_manager
        self.max_num_seqs = max_num_seqs
        self.max_num_batched_tokens = max_num_batched_tokens
        self.waiting: deque[Sequence] = deque()
        self.running: list[Sequence] = []
        self.num_preemptions = 0

    def has_work(self) -> bool:
        return bool(self.waiting or self.running)

    def add(self, seq: Sequence) -> None:
        seq.status = SequenceStatus.WAITING
        self.waiting.append(seq)

    def add_running(self, seq: Sequence) -> None:
        seq.status = SequenceStatus.RUNNING
        self.running.append(seq)

    def finish(self, seq: Sequence) -> None:
        self.block_manager.release(seq)
        seq.status = SequenceStatus.FINISHED
        if seq in self.running:
            self.running.remove(seq)
        elif seq in self.waiting:
            self.waiting.remove(seq)

    def preempt(self, seq: Sequence) -> None:
        self.block_manager.release(seq)
        self.running.remove(seq)
        seq.status = SequenceStatus.WAITING
        self.waiting.appendleft(seq)
        self.num_preemptions += 1

    def schedule(self) -> list[ScheduledSeq]:
        budget = self.max_num_batched_tokens
        batch: list[ScheduledSeq] = []

        # Prefix blocks that this step computes for a prompt: a later prompt sharing them waits
        # one step and then hits the cache instead of computing them again.
        pending_prefixes: set[int] = set()
        i = 0
        while i < len(self.running) and budget > 0:
            seq = self.running[i]
            n = min(seq.num_uncomputed_tokens, budget)
            if self._grow_or_preempt(seq, seq.num_computed_tokens + n):
                batch.append(ScheduledSeq(seq, n))
                budget -= n
                i += 1
                if n > 1:  # a prompt chunk
                    full_after = (seq.num_computed_tokens + n) // self.block_manager.block_size
                    pending_prefixes.update(self._block_prefix_keys(seq)[:full_after])
            # else seq itself was preempted: running[i] is now the next one

        skipped: list[Sequence] = []
        while self.waiting and budget > 0 and len(self.running) < self.max_num_seqs:
            seq = self.waiting.popleft()
            hits = self.block_manager.admit(seq)
            keys = self._block_prefix_keys(seq)
            if self._next_block_pending(seq, keys, pending_prefixes):
                self.block_manager.release(seq)
                skipped.append(seq)
                continue
            n = min(seq.num_uncomputed_tokens, budget)
            try:
                self.block_manager.grow(seq, seq.num_computed_tokens + n)
            except OutOfBlocksError:
                self.block_manager.release(seq)
                self.waiting.appendleft(seq)
                break
            self.add_running(seq)
            if seq.index == 0 and not seq.request.forked and seq.num_prompt_tokens == len(seq.token_ids):
                seq.request.num_cached_prompt_tokens = max(seq.request.num_cached_prompt_tokens, hits)
            if self.block_manager.prefix_cache is not None:
                self.block_manager.prefix_cache.record_lookup(len(seq.token_ids), hits)
            batch.append(ScheduledSeq(seq, n))
            budget -= n
            full_after = (seq.num_computed_tokens + n) // self.block_manager.block_size
            pending_prefixes.update(keys[:full_after])
        self.waiting.extendleft(reversed(skipped))
        return batch

    def _grow_or_preempt(self, seq: Sequence, num_tokens: int) -> bool:
        """Grow seq's blocks to num_tokens, preempting the latest-admitted running sequences
        until it fits. False if seq itself had to be preempted."""
        while True:
            try:
                self.block_manager.grow(seq, num_tokens)
                return True
            except OutOfBlocksError:
                victim = self.running[-1]
                self.preempt(victim)
                if victim is seq:
                    return False

    def _block_prefix_keys(self, seq: Sequence) -> list[int]:
        """keys[k] identifies the token prefix ending at full block k (a chained hash)."""
        if self.block_manager.prefix_cache is None:
            return []
        bs = self.block_manager.block_size
        keys, h = [], 0
        for k in range(len(seq.token_ids) // bs):
            h = hash((h, tuple(seq.token_ids[k * bs : (k + 1) * bs])))
            keys.append(h)
        return keys

    def _next_block_pending(self, seq: Sequence, keys: list[int], pending: set[int]) -> bool:
        next_block = seq.num_computed_tokens // self.block_manager.block_size
        return next_block < len(keys) and keys[next_block] in pending and seq.num_computed_tokens % self.block_manager.block_size == 0
