"""Human-facing reports: result tables (rich), one-line and JSON results, and the proved-vs-time /
vs-expansions plot."""
from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from pathlib import Path

from rich.table import Table
from rich.text import Text

from prover.records import TheoremRecord


def theorem_table(records: Sequence[TheoremRecord], title: str = "Theorems") -> Table:
    """One row per theorem, naming the backend that checked it (never "Lean" for the embedded kernel).

    When every theorem was checked by the same backend it is named once, in the caption."""
    backends = {record.backend for record in records}
    shared = backends.pop() if len(backends) == 1 else None
    caption = f"checked by: {shared or '-'}" if len(records) and shared is not None else None
    table = Table(title=title, caption=caption)
    table.add_column("theorem", max_width=26, overflow="ellipsis", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("time s", justify="right", no_wrap=True)
    table.add_column("exp.", justify="right", no_wrap=True)
    if shared is None:
        table.add_column("checked by")
    table.add_column("proof / error", overflow="fold", min_width=20)
    colors = {"proved": "green", "failed": "yellow", "error": "red"}
    for record in records:
        if record.status == "proved":
            detail = textwrap.dedent(record.proof or "").strip()
        else:  # the first line is enough here; the JSON report has the whole message
            detail = (record.error or "").strip().split("\n")[0]
            detail = detail if len(detail) <= 160 else detail[:157] + "..."
        # Text, not markup: proofs are full of [brackets] that rich would read as style tags.
        row = [Text(record.name), Text(record.status, style=colors[record.status]), f"{record.time_s:.2f}",
               str(record.expansions)]
        if shared is None:
            row.append(Text(record.backend or "-"))
        table.add_row(*row, Text(detail))
    return table


def theorem_line(record: TheoremRecord, index: int, total: int) -> str:
    """One plain line per finished theorem (for logs and pipes): `[3/20] proved name (0.41 s, 2 expansions)`,
    with the first line of the reason when it was not proved."""
    line = f"[{index}/{total}] {record.status} {record.name} ({record.time_s:.2f} s, {record.expansions} expansion{'' if record.expansions == 1 else 's'})"
    if record.status != "proved" and record.error:
        reason = record.error.strip().split("\n")[0]
        line += ": " + (reason if len(reason) <= 200 else reason[:197] + "...")
    return line


def record_json(record: TheoremRecord, **extra: object) -> str:
    """One theorem as a JSON Lines object, `{"type": "theorem", ...the record's fields}`."""
    return json.dumps({"type": "theorem", **extra, **record.model_dump(mode="json")}, ensure_ascii=False)


def source_table(by_source: dict[str, dict[str, int]], title: str = "By problem source") -> Table:
    table = Table(title=title)
    table.add_column("source")
    for column in ("attempted", "proved", "failed", "error"):
        table.add_column(column, justify="right")
    table.add_column("proved %", justify="right")
    totals = {"attempted": 0, "proved": 0, "failed": 0, "error": 0}
    for source, row in by_source.items():
        for key in totals:
            totals[key] += row[key]
        table.add_row(Text(source), *(str(row[k]) for k in totals), _percent(row["proved"], row["attempted"]))
    table.add_row("all", *(str(totals[k]) for k in totals), _percent(totals["proved"], totals["attempted"]),
                  style="bold")
    return table


def _percent(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}" if whole else "-"


def plot_proved(records: Sequence[TheoremRecord], path: Path, title: str = "theorems proved") -> Path:
    """PNG with two panels: theorems proved within t seconds, and within n expansions.

    Each curve is cumulative over the per-theorem cost of the proved theorems, i.e. what a
    smaller budget would still have proved; the dashed line is the number attempted.
    """
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and in CI
    import matplotlib.pyplot as plt

    proved = [r for r in records if r.status == "proved"]
    times = sorted(r.time_s for r in proved)
    expansions = sorted(r.expansions for r in proved)
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    panels = (
        (left, times, [r.time_s for r in records], "time per theorem (s)"),
        (right, expansions, [r.expansions for r in records], "expansions per theorem"),
    )
    for axis, values, all_costs, label in panels:
        counts = list(range(1, len(values) + 1))
        # Run the curve on to the largest cost spent on any theorem, so its final level shows.
        x_end = max([*all_costs, *values, 1e-9]) * 1.05
        axis.step([0, *values, x_end], [0, *counts, len(values)], where="post", label="proved")
        axis.axhline(len(records), linestyle="--", color="grey", label="attempted")
        axis.set_xlabel(label)
        axis.set_ylabel("theorems proved")
        axis.set_ylim(0, max(len(records), 1) * 1.05)
        axis.legend(loc="lower right")
        axis.grid(alpha=0.3)
    figure.suptitle(f"{title}: {len(proved)}/{len(records)}")
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
