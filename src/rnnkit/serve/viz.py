"""``GET /viz?text=...``: the hidden-state viewer of ``rnnkit viz`` for the served language
model and that text (default: the start of the run's validation text), as one HTML page
(:func:`rnnkit.diagnostics.viewer.render_html`).

The viewer watches every step of the recurrent layer through a hook on the layer, so it runs
on its own copy of the model (made on first use, one viewer at a time), never on the model
that other requests are sampling from.
"""

from __future__ import annotations

import copy
import threading

from fastapi import FastAPI, Query
from starlette.responses import HTMLResponse

from .limits import check
from .service import Service


class _ViewerModel:
    """A private copy of the served model for the viewer, and the lock that serialises it."""

    def __init__(self, model):
        self._source, self._copy = model, None
        self.lock = threading.Lock()

    def get(self):
        if self._copy is None:
            self._copy = copy.deepcopy(self._source).eval()
        return self._copy


def register(app: FastAPI, svc: Service) -> None:
    if svc.task != "lm":
        return
    viewer = _ViewerModel(svc.loaded.model)

    @app.get("/viz", response_class=HTMLResponse, tags=["diagnostics"],
             summary="Hidden-state viewer of the language model for a text")
    async def viz(text: str | None = Query(None, description="the text to show (>= 2 tokens)"),
                  layer: int | None = Query(None, description="recurrent layer (default: last)")):
        if text is not None:
            check("text length (characters)", len(text), svc.limits, "max_text_chars")
        page = await svc.call(lambda job: render(svc, viewer, text, layer))
        return HTMLResponse(page)


def render(svc: Service, viewer: _ViewerModel, text: str | None, layer: int | None) -> str:
    from ..diagnostics.viewer import render_html, validation_text, viewer_data

    loaded, chars = svc.loaded, svc.limits.viz_chars
    if text is None:
        try:
            text = validation_text(loaded.config, chars)
        except OSError as e:
            raise ValueError(f"give the text to show (/viz?text=...): the run's validation "
                             f"text cannot be read ({e})") from None
    enc = loaded.config["model"]["encoder"]
    meta = (f"{svc.name}: {enc['layers']}x{enc['hidden']} {enc['cell']} language model, "
            f"{svc.checkpoint} checkpoint; first {min(len(text), chars)} characters")
    with viewer.lock:
        data = viewer_data(viewer.get(), loaded.vocab, text, max_chars=chars, layer=layer,
                           meta=meta)
    return render_html(data, f"rnnkit viewer: {svc.name}")
