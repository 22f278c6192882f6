"""Training logs: a CSV file (and TensorBoard when it is installed), and a loss-curve PNG."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from ..plotting import new_figure, save_figure

log = logging.getLogger(__name__)


class MetricsLog:
    """Append rows to a CSV whose columns grow as new keys appear (the file is rewritten then).

    Rows from ``log`` events (training) and ``eval`` events (validation) share one file; a
    column a row does not have is left empty.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.rows: list[dict] = []
        self.columns: list[str] = []
        if self.path.exists():  # resuming: keep what was logged
            with open(self.path, newline="") as f:
                reader = csv.DictReader(f)
                self.columns = list(reader.fieldnames or [])
                self.rows = [dict(r) for r in reader]
        self.tb = None  # the TensorBoard writer, opened at the first row, closed by close()
        self._tb_missing = False

    def _writer(self):
        if self.tb is None and not self._tb_missing:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(self.path.parent / "tensorboard"))
            except Exception:  # tensorboard is optional
                self._tb_missing = True
        return self.tb

    def close(self) -> None:
        """Flush and close the TensorBoard writer (the CSV is written row by row)."""
        if self.tb is not None:
            self.tb.close()
            self.tb = None

    def __enter__(self) -> MetricsLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def truncate_after(self, step: int) -> None:
        """Drop rows logged after ``step`` (a resumed run replays those steps)."""
        kept = [r for r in self.rows if int(float(r.get("step") or 0)) <= step]
        if len(kept) != len(self.rows):
            self.rows = kept
            self._rewrite()

    def _rewrite(self) -> None:
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, self.columns)
            w.writeheader()
            w.writerows(self.rows)
        tmp.replace(self.path)

    def write(self, row: dict) -> None:
        new = [k for k in row if k not in self.columns]
        self.rows.append(row)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if new:
            self.columns += new
            self._rewrite()
        else:
            with open(self.path, "a", newline="") as f:
                csv.DictWriter(f, self.columns).writerow(row)
        tb = self._writer()
        if tb is not None:
            step = int(row.get("step", 0))
            for k, v in row.items():
                if isinstance(v, (int, float)) and k != "step":
                    tb.add_scalar(k, v, step)


def plot_losses(csv_path: Path, png_path: Path, title: str = "") -> Path | None:
    """Plot train and validation loss against step from a run's log.csv."""
    fig = new_figure((7, 4), "loss plot")
    if fig is None:
        return None
    train, val = [], []
    with open(csv_path, newline="") as f:
        for r in csv.DictReader(f):
            if r.get("train_loss"):
                train.append((int(r["step"]), float(r["train_loss"])))
            if r.get("val_loss"):
                val.append((int(r["step"]), float(r["val_loss"])))
    ax = fig.subplots()
    if train:
        ax.plot(*zip(*train), label="train", lw=1)
    if val:
        ax.plot(*zip(*val), "o-", label="validation", lw=1.5)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats per token)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, png_path)
