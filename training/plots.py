"""Plots of a training run (loss, expert load) from its `training_log.json`."""
from __future__ import annotations

import json
from pathlib import Path


def plot_training(log_path: str | Path, out_dir: str | Path) -> list[Path]:
    """Write `training_loss.png` and `expert_load.png` from a training_log.json."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = json.loads(Path(log_path).read_text())
    result = data["result"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(range(1, len(result["losses"]) + 1), result["losses"], linewidth=0.8)
    ax.set_xlabel("step")
    ax.set_ylabel("completion loss (nats/token)")
    ax.set_title("policy training loss")
    fig.tight_layout()
    fig.savefig(out / "training_loss.png", dpi=120)
    plt.close(fig)
    written.append(out / "training_loss.png")

    layers = sorted(result["expert_load"], key=int)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    every = data["config"]["log_every"]
    for layer in layers:
        series = result["load_imbalance"][layer]
        axes[0].plot([every * (i + 1) for i in range(len(series))], series, label=f"layer {layer}")
    axes[0].axhline(1.0, color="grey", linewidth=0.5)
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("max / mean expert load")
    axes[0].legend(fontsize=7)
    width = 0.8 / max(1, len(layers))
    for j, layer in enumerate(layers):
        load = result["expert_load"][layer]
        axes[1].bar([e - 0.4 + (j + 0.5) * width for e in range(len(load))], load, width=width, label=f"layer {layer}")
    axes[1].set_xticks(range(len(result["expert_load"][layers[0]])) if layers else [])
    axes[1].legend(fontsize=7)
    axes[1].set_xlabel("expert")
    axes[1].set_ylabel("share of routed tokens (last window)")
    fig.tight_layout()
    fig.savefig(out / "expert_load.png", dpi=120)
    plt.close(fig)
    written.append(out / "expert_load.png")
    return written
