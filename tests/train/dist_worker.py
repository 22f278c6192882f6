"""``torchrun ... tests/train/dist_worker.py ARGS``: the rnnkit command line, in a process that
dies (``os._exit``) right after the checkpoint of step ``CRASH_AT_STEP`` when its rank is
``CRASH_RANK``: a process of a run that dies, for tests/train/test_distributed.py. With
``CRASH_SIGNAL=TERM`` the process is sent SIGTERM there instead (torchrun's signal to the
other processes, arriving between two collectives)."""

import os
import signal
import sys

from rnnkit.cli.main import main
from rnnkit.train import loop

CRASH_AT = int(os.environ.get("CRASH_AT_STEP", "0"))
CRASH_RANK = int(os.environ.get("CRASH_RANK", "-1"))
CRASH_SIGNAL = os.environ.get("CRASH_SIGNAL")

if CRASH_AT:
    save = loop.Trainer.save

    def save_then_die(self, name):
        path = save(self, name)
        if name == "last" and self.step >= CRASH_AT and self.dist.rank == CRASH_RANK:
            if CRASH_SIGNAL == "TERM":
                os.kill(os.getpid(), signal.SIGTERM)
            else:
                os._exit(3)
        return path

    loop.Trainer.save = save_then_die

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
