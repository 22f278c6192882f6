"""``rnnkit serve RUN``: an HTTP service and a web page over a trained run (any task), bound
to 127.0.0.1 unless ``--host`` says otherwise (see ``docs/serve.md``). The limits are
:class:`rnnkit.serve.limits.Limits`'s fields, one option each."""

from __future__ import annotations

import sys

from ..serve.limits import Limits
from .dispatch import add_device
from .options import add_options, given

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def register(sub) -> None:
    p = sub.add_parser(
        "serve", help="HTTP service and web page over a trained run (localhost, no auth)",
        description="Serve a trained run over HTTP: GET / (web page), /health, /v1/info, and "
        "the task's endpoints: POST /v1/sample (lm, generate), /v1/predict (classify, tag, "
        "series-classify, series-tag), /v1/translate (seq2seq), /v1/forecast (forecast), "
        "GET /viz (lm). There is no authentication: keep the default host 127.0.0.1 unless "
        "the network in front of it is trusted.")
    p.add_argument("run", metavar="RUN", help="run folder of `rnnkit train ...`")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0: any free)")
    p.add_argument("--checkpoint", choices=["best", "last"], default="best")
    add_device(p)
    p.add_argument("--log-level", choices=LOG_LEVELS, default="info",
                   help="uvicorn's log level (default: info)")
    p.add_argument("--no-access-log", dest="access_log", action="store_false",
                   help="do not log every request")
    opts = add_options(p, Limits(), titles={"options": "limits"})
    p.set_defaults(func=lambda args: run(args, opts))


def run(args, opts) -> int:
    from ..config import from_dict
    from ..extras import need_extra
    from ..tasks import registry
    from ..train.device import resolve_device
    from .common import UserError

    need_extra("serve", "rnnkit serve")
    from ..serve.server import loopback_warning, serve

    if not 0 <= args.port <= 65535:
        raise UserError(f"--port must be in 0..65535, got {args.port}")
    limits = from_dict(Limits, given(args, opts))
    limits.validate()
    resolve_device(args.device)  # a bad --device is an error before anything is loaded
    spec, _ = registry.of_run(args.run)
    warning = loopback_warning(args.host)
    if warning:
        print(f"rnnkit: warning: {warning}", file=sys.stderr)

    def ready(host: str, port: int) -> None:
        shown = f"[{host}]" if ":" in host else host
        print(f"rnnkit: serving the {spec.name} run {args.run} at http://{shown}:{port}/ "
              "(Ctrl-C stops)", flush=True)

    try:
        serve(args.run, args.host, args.port, limits, checkpoint=args.checkpoint,
              log_level=args.log_level, access_log=args.access_log, warn=False,
              device=args.device, on_ready=ready)
    except KeyboardInterrupt:  # Ctrl-C (uvicorn re-raises it after its graceful shutdown)
        print("rnnkit: server stopped", file=sys.stderr)
    return 0
