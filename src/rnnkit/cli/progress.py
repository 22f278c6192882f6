"""Terminal progress for training runs (the CLI prints; the library only emits events)."""

from __future__ import annotations

import sys
import time


def _fmt_time(s: float) -> str:
    s = int(s)
    if s >= 3600:
        return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


def _fmt_rate(r: float) -> str:
    return f"{r / 1000:.1f}k" if r >= 1000 else f"{r:.0f}"


class Progress:
    """A one-line live progress bar on a TTY; plain log lines otherwise."""

    def __init__(self, budget_s: float | None = None, steps: int | None = None,
                 unit: str = "tok", stream=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.budget_s, self.steps, self.unit = budget_s, steps, unit
        self.t0 = time.time()
        self.last_val = None

    def __call__(self, event: str, row: dict) -> None:
        pre = row.get("phase") == "lm_pretrain"  # the classifier's LM pretraining
        if event == "log":
            parts = [f"step {row['step']}"]
            if self.steps and not pre:
                parts[0] += f"/{self.steps}"
            if pre:
                parts.insert(0, "LM pretraining")
            parts += [f"epoch {row['epoch']:.2f}", f"loss {row['train_loss']:.3f}"]
            if self.last_val is not None:
                parts.append(f"val {self.last_val:.3f}")
            parts += [f"lr {row['lr']:.1e}", f"{_fmt_rate(row['items_per_s'])} {self.unit}/s",
                      f"|g| {row['grad_norm']:.2f}"]
            t = _fmt_time(row["elapsed"])
            if self.budget_s and not pre:
                frac = min(1.0, row["elapsed"] / self.budget_s)
                bar = "#" * int(frac * 20)
                t = f"[{bar:<20}] {t}/{_fmt_time(self.budget_s)}"
            line = " | ".join(parts) + " | " + t
            if self.tty:
                self.stream.write("\r\033[K" + line)
            else:
                self.stream.write(line + "\n")
        elif event == "plan":
            chosen = ", ".join(f"{k} {v:g}" for k, v in row["plan"].items()
                               if k != "expected_epochs")
            prefix = "\r\033[K" if self.tty else ""
            self.stream.write(f"{prefix}step {row['step']}: the budget holds about "
                              f"{row['epochs']:.1f} epochs: {chosen}\n")
        elif event == "eval":
            self.last_val = row.get("val_loss")
            keys = ("val_ppl", "val_bpc", "val_acc", "val_macro_f1", "val_chunk_f1")
            extra = "".join(f" | {k[4:]} {row[k]:.3f}" for k in keys if k in row)
            tag = "final validation" if row.get("final") else "validation"
            tag = f"LM pretraining {tag}" if pre else tag
            prefix = "\r\033[K" if self.tty else ""
            self.stream.write(f"{prefix}{tag} @ step {row['step']}: loss {row['val_loss']:.4f}"
                              f"{extra} ({row['eval_seconds']:.1f}s)\n")
        self.stream.flush()


def finished_run(run, kind: str) -> dict | None:
    """Print where the run is; its ``summary.json``, or None (after printing how to resume)
    when training was interrupted. ``kind`` is the ``rnnkit train`` subcommand."""
    import json
    from pathlib import Path

    run = Path(run)
    print(f"run folder: {run}", file=sys.stderr)
    summary = json.loads((run / "summary.json").read_text())
    if summary["stopped"] == "interrupted":
        print(f"interrupted at step {summary['step']}; checkpoint saved. Continue with:\n"
              f"  rnnkit train {kind} --resume {run}", file=sys.stderr)
        return None
    return summary
