"""``GET /``: the web page of the served run (:mod:`.page_html`), with the ``/v1/info``
summary embedded as JSON (``</`` escaped, so the text cannot close its script)."""

from __future__ import annotations

import html
import json

from .info import info
from .page_html import PAGE
from .service import Service


def render_page(svc: Service) -> str:
    blob = json.dumps(info(svc), ensure_ascii=True).replace("</", "<\\/")
    return PAGE.replace("__TITLE__", html.escape(f"rnnkit: {svc.name}")).replace(
        "__INFO__", blob)
