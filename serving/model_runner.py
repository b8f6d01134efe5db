"""Turns a scheduled batch into one model forward: flattened token ids and positions, and the
AttentionContext that tells each attention layer where the tokens' latents go and what they see."""

from __future__ import annotations

import inspect

import torch

from kernels.dispatch import SharedPrefix
from serving.attention import AttentionContext, PrefillSpan
from serving.cache import LatentCachePool
from serving.decode_graph import DecodeGraphs
from serving.kv_cache import KVCachePool
from serving.sampler import DrawInputs
from serving.scheduler import ScheduledSeq


class ModelRunner:
    def __init__(
        self,
        model: torch.nn.Module,
        pool: LatentCachePool | KVCachePool,
        device: torch.device,
        decode_graphs: DecodeGraphs | None = None,
    ) -> None:
        self.model = model
        self.pool = pool
        self.device = device
        self.block_size = pool.block_size
        self.decode_graphs = decode_graphs  # the compiled / captured decode step, if any
        self._takes_logit_rows = "logit_rows" in inspect.signature(model.forward).parameters

    def decode_inputs(
        self, batch: list[ScheduledSeq]
    ) -> tuple[list[int], list[int], list[int], list[list[int]], list[int]]:
        """One row per sequence of a decode-only batch: (token, position, slot, block table up to
        the written block, context length)."""
        bs = self.block_size
        ids, positions, slots, tables, lens = [], [], [], [], []
        for item in batch:
            seq = item.seq
            pos = seq.num_computed_tokens
            table = seq.block_table
            ids.append(seq.token_ids[pos])
            positions.append(pos)
            slots.append(table[pos // bs] * bs + pos % bs)
            tables.append(table[: pos // bs + 1])
            lens.append(pos + 1)
        return ids, positions, slots, tables, lens

    def build_context(self, batch: list[ScheduledSeq]) -> tuple[torch.Tensor, torch.Tensor, AttentionContext, list[int]]:
        """(input_ids [1,N], positions [1,N], context, index in N of each sequence's last token)."""
        bs = self.block_size
        input_ids: list[int] = []
        positions: list[int] = []
        slots: list[int] = []
        prefills: list[PrefillSpan] = []
        decode_idx: list[int] = []
        decode_tables: list[list[int]] = []
        decode_lens: list[int] = []
        last_token_idx: list[int] = []
        for item in batch:
            seq, n = item.seq, item.num_new_tokens
            start = seq.num_computed_tokens
            end = start + n
            token_start = len(input_ids)
            input_ids.extend(seq.token_ids[start:end])
            positions.extend(range(start, end))
            table = seq.block_table
            slots.extend(table[p // bs] * bs + p % bs for p in range(start, end))
            if n == 1:
                decode_idx.append(token_start)
                decode_tables.append(table[: -(-end // bs)])
                decode_lens.append(end)
            else:
                blocks = torch.tensor(table[: -(-end // bs)], dtype=torch.long, device=self.device)
                prefills.append(PrefillSpan(token_start, n, end, blocks))
            last_token_idx.append(len(input_ids) - 1)

        shared, suffix_table, suffix_lens = self._shared_prefixes(batch, decode_idx, decode_tables, decode_lens)
        width = max((len(t) for t in decode_tables), default=0)
        block_table = torch.zeros(len(decode_tables), width, dtype=torch.int32)
        for row, table in enumerate(decode_tables):
            block_table[row, : len(table)] = torch.tensor(table, dtype=torch.int32)
        context = AttentionContext(
            pool=self.pool,
            slot_mapping=torch.tensor(slots, dtype=torch.long, device=self.device),
            prefills=prefills,
            decode_token_idx=torch.tensor(decode_idx, dtype=torch.long, device=self.device),
            decode_block_table=block_table.to(self.device),
            decode_seq_lens=torch.tensor(decode_lens, dtype=torch.int32, device=self.device),
            shared_prefixes=shared,
            suffix_block_table=suffix_table,
            suffix_lens=suffix_lens,
        )
        ids = torch.tensor([input_ids], dtype=torch.long, device=self.device)
        pos = torch.tensor([positions], dtype=torch.long, device=self.device)
        return ids, pos, context, last_token_idx

    def _shared_prefixes(self, batch, decode_idx, decode_tables, decode_lens):
        """Group decode sequences of the same request by the blocks their tables share (the
        prompt's full blocks, shared at fork); ([SharedPrefix], suffix tables, suffix lengths),
        or ([], None, None) when nothing is shared."""
        bs = self.block_size
        decode_seqs = [item.seq for item in batch if item.num_new_tokens == 1]
        by_request: dict[int, list[int]] = {}
        for row, seq in enumerate(decode_seqs):
            by_request.setdefault(id(seq.request), []).append(row)
        groups: list[SharedPrefix] = []
        shared_blocks = [0] * len(decode_seqs)
        for rows in by_request.values():
            if len(rows) < 2:
                continue
            first = decode_tables[rows[0]]
            common = min((decode_lens[r] - 1) // bs for r in rows)  # never the block being written
            for r in rows[1:]:
                table = decode_tables[r]
                k = 0
                while k < common and table[k] == first[k]:
                    k += 1
                common = k
            if common == 0:
                continue
            groups.append(
                SharedPrefix(
                    members=torch.tensor(rows, dtype=torch.long, device=self.device),
                    block_ids=torch.tensor(first[:common], dtype=torch.long, device=self.device),
                )
            )
            for r in rows:
                shared_blocks[r] = common
        if not groups:
            return [], None, None
        suffixes = [decode_tables[r][shared_blocks[r] :] for r in range(len(decode_seqs))]
        table = torch.zeros(len(suffixes), max(len(t) for t in suffixes), dtype=torch.long)
        for r, t in enumerate(suffixes):
            table[r, : len(t)] = torch.tensor(t, dtype=torch.long)
        lens = [decode_lens[r] - shared_blocks[r] * bs for r in range(len(decode_seqs))]
        return groups, table.to(self.device), torch.tensor(lens, dtype=torch.long, device=self.device)

    def run(self, batch: list[ScheduledSeq]) -> torch.Tensor:
        """Logits [len(batch), vocab] at each scheduled sequence's last fed token."""
        return self.run_and_draw(batch, None)[0]

    @torch.inference_mode()
    def run_and_draw(self, batch: list[ScheduledSeq], draw: DrawInputs | None) -> tuple[torch.Tensor, tuple | None]:
        """(logits as `run`, drawn): for a decode-only batch whose step is compiled with its
        sampling, drawn is draw_candidates' (token, logprob, settled) for `draw`, the rows' draw
        inputs (serving.sampler.draw_inputs); otherwise None and the caller samples."""
        if self.decode_graphs is not None and all(item.num_new_tokens == 1 for item in batch):
            out = self.decode_graphs.run(*self.decode_inputs(batch), draw=draw)
            if out is not None:
                return out
        return self._run_eager(batch), None

    def _run_eager(self, batch: list[ScheduledSeq]) -> torch.Tensor:
        ids, pos, context, last_token_idx = self.build_context(batch)
        if self._takes_logit_rows:  # skip the vocabulary projection of tokens whose logits are unused
            rows = torch.tensor(last_token_idx, dtype=torch.long, device=self.device)
            return self.model(ids, positions=pos, cache=context, logit_rows=rows)
        logits = self.model(ids, positions=pos, cache=context)
        return logits[0, last_token_idx]
