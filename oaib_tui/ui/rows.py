"""The request list's data: one row per request, kept in compact columns.

At a million requests a Python object per row would cost hundreds of
megabytes, so every column is an `array` (or a `bytearray`) indexed by row,
about 50 bytes a row in all. Rows are appended in the order requests are
queued, which is source order, so a request's row is found from its `seq` by
bisection; the rare request seen out of order goes to a small dict, and its
row repeats the seq before it so that the column stays sorted.

Per-block status counts let a filtered view find its k-th row without
scanning a million statuses: see :meth:`RequestRows.nth`.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, islice

from .. import events as ev
from .answers import AnswerPreviews, error_preview, preview

QUEUED, IN_FLIGHT, RETRYING, DONE, FAILED = range(5)
STATUS_NAMES = ("queued", "in flight", "retrying", "done", "failed")
BLOCK = 1024
"""Rows per block of status counts: a lookup scans the blocks, then at most one block."""
MAX_ATTEMPTS_SHOWN = 255
NO_VALUE = math.nan


@dataclass(frozen=True)
class EarlierRows:
    """A chunk of rows that earlier runs finished, in seq order, already in the list's column types.

    Built in the job's thread (:meth:`from_rows`), so the app only copies the columns in.
    """

    seq: array
    custom_ids: list[str]
    status: bytes
    attempts: bytes
    latency: array
    prompt_tokens: array
    output_tokens: array
    cost: array
    tiers: bytes
    """Each row's tier code (see TIERS)."""
    reasons: dict[int, str]
    """Offset in the chunk → error reason, for the (few) failed rows."""
    more: bool
    """More chunks follow; the last one says False."""

    @classmethod
    def from_rows(cls, rows: Sequence[tuple], *, more: bool) -> EarlierRows:
        """From :meth:`StateReader.iter_rows` tuples (done and failed items)."""
        columns = list(zip(*rows)) or [()] * 10
        seqs, ids, statuses, attempts, latency, prompt, output, cost, reasons, tiers = columns
        return cls(
            seq=array("q", seqs), custom_ids=list(ids),
            status=bytes([DONE if status == "done" else FAILED for status in statuses]),
            attempts=bytes([n if n < MAX_ATTEMPTS_SHOWN else MAX_ATTEMPTS_SHOWN for n in attempts]),
            latency=array("f", [NO_VALUE if v is None else v for v in latency]),
            prompt_tokens=array("I", [v or 0 for v in prompt]),
            output_tokens=array("I", [v or 0 for v in output]),
            cost=array("f", [NO_VALUE if v is None else v for v in cost]),
            tiers=bytes([tier_code(tier) if status == "done" else 0 for status, tier in zip(statuses, tiers)]),
            reasons={i: reason for i, (status, reason) in enumerate(zip(statuses, reasons))
                     if reason and status != "done"},
            more=more,
        )


TIERS = ("", "standard", "flex", "priority", "batch")
"""What a row's tier code stands for: the tier its answer was charged at (none before it is answered)."""


def tier_code(tier: str | None) -> int:
    return TIERS.index(tier) if tier in TIERS else 0


class RequestRows:
    """Every request of the run, one row each, with what the list shows about it."""

    def __init__(self) -> None:
        self.seq = array("q")
        self.status = bytearray()
        self.attempts = bytearray()
        self.latency = array("f")
        self.prompt_tokens = array("I")
        self.output_tokens = array("I")
        self.cost = array("f")
        self.tier = bytearray()
        self.tiered = False
        """Some answer was charged at another tier than standard: the list has a tier column then."""
        self.reason = array("H")
        self._id_bytes = bytearray()
        self._id_ends = array("Q")
        self._reasons: list[str] = [""]
        self._reason_index: dict[str, int] = {"": 0}
        self._strays: dict[int, int] = {}
        self._stray_seqs: dict[int, int] = {}
        self._block_counts = array("I")
        self._totals = [0] * len(STATUS_NAMES)
        self.answers = AnswerPreviews()
        """One line of the answers (or errors) given most recently; the others are in the state file."""
        self.longest_id = 0
        """Characters in the longest custom_id, to size its column."""
        self.version = 0
        """Bumped on every change, so views know when to redraw."""
        self.loading_earlier = False
        """Rows that earlier runs finished are still on their way (see :class:`EarlierRows`)."""

    def __len__(self) -> int:
        return len(self.status)

    # -- reading --------------------------------------------------------------------------

    def custom_id(self, row: int) -> str:
        start = self._id_ends[row - 1] if row else 0
        return self._id_bytes[start:self._id_ends[row]].decode()

    def reason_text(self, row: int) -> str:
        return self._reasons[self.reason[row]]

    def seq_of(self, row: int) -> int:
        return self._stray_seqs.get(row, self.seq[row]) if self._stray_seqs else self.seq[row]

    def row_of(self, seq: int) -> int | None:
        """The row of a request, or None if it was never seen."""
        index = bisect_left(self.seq, seq)
        if index < len(self.seq) and self.seq[index] == seq:
            return index
        return self._strays.get(seq)

    def count(self, status: int | None) -> int:
        """Rows with this status (None: all rows)."""
        return len(self) if status is None else self._totals[status]

    def nth(self, status: int | None, n: int) -> int | None:
        """The row of the n-th request (from 0) with this status (None: any status), or None."""
        if status is None:
            return n if 0 <= n < len(self) else None
        if n < 0:
            return None
        counts, seen = self._block_counts, 0
        for block in range(len(counts) // 5):
            in_block = counts[block * 5 + status]
            if seen + in_block > n:
                return self._find_in_block(block, status, n - seen)
            seen += in_block
        return None

    def _find_in_block(self, block: int, status: int, n: int) -> int:
        row, end = block * BLOCK - 1, min(len(self), (block + 1) * BLOCK)
        for _ in range(n + 1):
            row = self.status.find(status, row + 1, end)
        return row

    def rows_from(self, status: int | None, n: int, limit: int) -> list[int]:
        """Up to `limit` rows, starting at the n-th one with this status (None: any)."""
        if status is None:
            return list(range(max(0, n), min(len(self), n + limit)))
        first = self.nth(status, n)
        rows: list[int] = []
        row = first if first is not None else -1
        while row >= 0 and len(rows) < limit:
            rows.append(row)
            row = self.status.find(status, row + 1)
        return rows

    def last_with(self, status: int) -> int | None:
        """The highest row with this status, or None."""
        counts = self._block_counts
        for block in range(len(counts) // 5 - 1, -1, -1):
            if counts[block * 5 + status]:
                return self.status.rfind(status, block * BLOCK, (block + 1) * BLOCK)
        return None

    def memory_bytes(self) -> int:
        """Bytes held by the columns (what a million rows cost)."""
        columns = (self.seq, self.status, self.attempts, self.latency, self.prompt_tokens, self.output_tokens,
                   self.cost, self.tier, self.reason, self._id_bytes, self._id_ends, self._block_counts)
        return sum(len(column) * getattr(column, "itemsize", 1) for column in columns)

    # -- folding events -------------------------------------------------------------------

    def handle(self, event: ev.Event) -> None:
        """Fold one engine event into the rows; other events are ignored."""
        kind = type(event)
        if kind is ev.RequestQueued:
            self._queued(event)  # type: ignore[arg-type]
        elif kind is ev.RequestSent:
            row = self._row(event)
            self._set_status(row, IN_FLIGHT)
            self.attempts[row] = min(event.attempt, MAX_ATTEMPTS_SHOWN)  # type: ignore[union-attr]
        elif kind is ev.RequestSucceeded:
            self._succeeded(event)  # type: ignore[arg-type]
        elif kind is ev.RetryScheduled or kind is ev.RequestFailed:
            row = self._row(event)
            self._set_status(row, RETRYING if kind is ev.RetryScheduled else FAILED)
            self.attempts[row] = min(event.attempt, MAX_ATTEMPTS_SHOWN)  # type: ignore[union-attr]
            self.reason[row] = self._intern(event.reason or "")  # type: ignore[union-attr]
            if kind is ev.RequestFailed:
                self.answers.put(row, error_preview(event.reason, event.message))  # type: ignore[union-attr]
        elif kind is EarlierRows:
            self.add_earlier(event)  # type: ignore[arg-type]
            return
        else:
            return
        self.version += 1

    def add_earlier(self, chunk: EarlierRows) -> None:
        """Add rows finished by earlier runs: copied in whole if they come after every row, else one by one."""
        self.loading_earlier = chunk.more
        self.version += 1
        if not chunk.seq:
            return
        if self.seq and chunk.seq[0] <= self.seq[-1]:
            self._add_earlier_one_by_one(chunk)
        else:
            self._extend(chunk)

    def _extend(self, chunk: EarlierRows) -> None:
        first, count = len(self), len(chunk.seq)
        self.seq.extend(chunk.seq)
        self.status += chunk.status
        self.attempts += chunk.attempts
        self.latency.extend(chunk.latency)
        self.prompt_tokens.extend(chunk.prompt_tokens)
        self.output_tokens.extend(chunk.output_tokens)
        self.cost.extend(chunk.cost)
        self.tier += chunk.tiers
        self._note_tiers(chunk.tiers)
        self.reason.frombytes(bytes(self.reason.itemsize * count))
        for offset, reason in chunk.reasons.items():
            self.reason[first + offset] = self._intern(reason)
        encoded = [custom_id.encode() for custom_id in chunk.custom_ids]
        self._id_ends.extend(islice(accumulate(map(len, encoded), initial=len(self._id_bytes)), 1, None))
        self._id_bytes += b"".join(encoded)
        self.longest_id = max(self.longest_id, max(map(len, chunk.custom_ids)))
        self._count_statuses(first)

    def _count_statuses(self, first: int) -> None:
        """Block and total counts for the rows from `first` on (all of them new)."""
        status, counts = self.status, self._block_counts
        for block in range(first // BLOCK, (len(self) - 1) // BLOCK + 1):
            if len(counts) <= block * 5:
                counts.extend((0, 0, 0, 0, 0))
            start, end = max(first, block * BLOCK), min(len(self), (block + 1) * BLOCK)
            for code in (DONE, FAILED):
                n = status.count(code, start, end)
                counts[block * 5 + code] += n
                self._totals[code] += n

    def _add_earlier_one_by_one(self, chunk: EarlierRows) -> None:
        for offset, seq in enumerate(chunk.seq):
            if self.row_of(seq) is not None:
                continue  # this run has it already: its own status wins
            row = self._append(seq, chunk.custom_ids[offset])
            self._set_status(row, chunk.status[offset])
            self.attempts[row] = chunk.attempts[offset]
            self.latency[row], self.cost[row] = chunk.latency[offset], chunk.cost[offset]
            self.tier[row] = chunk.tiers[offset]
            self._note_tiers(chunk.tiers[offset:offset + 1])
            self.prompt_tokens[row] = chunk.prompt_tokens[offset]
            self.output_tokens[row] = chunk.output_tokens[offset]
            self.reason[row] = self._intern(chunk.reasons.get(offset, ""))

    def _queued(self, e: ev.RequestQueued) -> None:
        row = self.row_of(e.seq) if self.seq and e.seq <= self.seq[-1] else None
        if row is None:
            row = self._append(e.seq, e.custom_id)
        else:  # sent again (retry of failed items): start the row over
            self._set_status(row, QUEUED)
            self.attempts[row], self.reason[row] = 0, 0
            self.latency[row], self.cost[row], self.output_tokens[row] = NO_VALUE, NO_VALUE, 0
            self.tier[row] = 0
            self.answers.forget(row)
        self.prompt_tokens[row] = min(e.prompt_tokens, 0xFFFFFFFF)

    def _succeeded(self, e: ev.RequestSucceeded) -> None:
        row = self._row(e)
        self._set_status(row, DONE)
        self.attempts[row] = min(e.attempt, MAX_ATTEMPTS_SHOWN)
        self.latency[row] = e.latency_s
        self.prompt_tokens[row] = e.usage.prompt_tokens
        self.output_tokens[row] = e.usage.completion_tokens
        self.cost[row] = NO_VALUE if e.cost_usd is None else e.cost_usd
        self.tier[row] = tier_code(e.tier)
        self._note_tiers(self.tier[row:row + 1])
        self.reason[row] = 0
        self.answers.put(row, preview(e.response))

    def _note_tiers(self, codes: bytes | bytearray) -> None:
        if not self.tiered and codes.strip(bytes((0, TIERS.index("standard")))):
            self.tiered = True

    def _row(self, e) -> int:
        row = self.row_of(e.seq)
        return row if row is not None else self._append(e.seq, e.custom_id)

    def _append(self, seq: int, custom_id: str) -> int:
        row = len(self.status)
        if self.seq and seq <= self.seq[-1]:
            self._strays[seq], self._stray_seqs[row] = row, seq
            seq = self.seq[-1]
        self.seq.append(seq)
        self.status.append(QUEUED)
        self.attempts.append(0)
        self.latency.append(NO_VALUE)
        self.prompt_tokens.append(0)
        self.output_tokens.append(0)
        self.cost.append(NO_VALUE)
        self.tier.append(0)
        self.reason.append(0)
        self._id_bytes += custom_id.encode()
        self.longest_id = max(self.longest_id, len(custom_id))
        self._id_ends.append(len(self._id_bytes))
        if row % BLOCK == 0:
            self._block_counts.extend((0, 0, 0, 0, 0))
        self._block_counts[(row // BLOCK) * 5 + QUEUED] += 1
        self._totals[QUEUED] += 1
        return row

    def _set_status(self, row: int, status: int) -> None:
        base = (row // BLOCK) * 5
        self._block_counts[base + self.status[row]] -= 1
        self._block_counts[base + status] += 1
        self._totals[self.status[row]] -= 1
        self._totals[status] += 1
        self.status[row] = status

    def _intern(self, reason: str) -> int:
        index = self._reason_index.get(reason)
        if index is None:
            if len(self._reasons) >= 0xFFFF:
                return 0
            index = self._reason_index[reason] = len(self._reasons)
            self._reasons.append(reason)
        return index
