"""SIGTERM in a process of a run of many (torchrun's signal when another process stopped): it
raises where the process is, so the command says why it stopped and how to continue."""

import os
import signal
import time
from types import SimpleNamespace

import pytest

from rnnkit.cli.train_cmd import lost_peer
from rnnkit.train.distributed import Terminated, sigterm_raises


def _term_self():
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.5)  # the handler runs at the next bytecode boundary
    raise AssertionError("SIGTERM did not raise")


def test_the_first_sigterm_raises_and_the_handler_is_restored_after_a_clean_block():
    before = signal.getsignal(signal.SIGTERM)
    with sigterm_raises(True):
        pass
    assert signal.getsignal(signal.SIGTERM) is before
    with pytest.raises(Terminated, match="SIGTERM"):
        with sigterm_raises(True):
            _term_self()
    # on the way out of an error a second SIGTERM must not kill the process before it speaks
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.1)
    signal.signal(signal.SIGTERM, before)


def test_a_single_process_keeps_the_default_handler():
    before = signal.getsignal(signal.SIGTERM)
    with sigterm_raises(False):
        assert signal.getsignal(signal.SIGTERM) is before


def test_what_a_terminated_process_says(tmp_path):
    run = tmp_path / "lm-1"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.json").write_text("{}")
    args = SimpleNamespace(resume=None, out=str(tmp_path))
    said = lost_peer(args, "lm", 0, Terminated("SIGTERM"), time.time() - 5)
    assert said.startswith("process 0: ended by SIGTERM") and "before the run's first" in said
    (run / "checkpoints" / "last.safetensors").write_bytes(b"x")
    said = lost_peer(args, "lm", 0, Terminated("SIGTERM"), time.time() - 5)
    assert "another process of this run stopped" in said
    assert said.endswith(f"continue it with `rnnkit train lm --resume {run}`")
    gloo = lost_peer(args, "lm", 1, RuntimeError("Connection closed by peer\nmore"), 0)
    assert gloo.startswith("process 1: another process of this run stopped (Connection closed "
                           "by peer); the last checkpoint is intact")
