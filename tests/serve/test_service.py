"""`rnnkit serve` end to end over a real uvicorn server on a free loopback port: the page,
health and info, sampling (greedy = the library's, streaming = the same text), the bounds
(413, limits named, 503 beyond the queue, the time limit), JSON errors, the viewer,
classification equal to the library's, and the command line."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import torch

import rnnkit
from rnnkit.cli.main import main
from rnnkit.tasks.common.sampling import SampleConfig

from .conftest import need_serve, start

httpx = need_serve()

from rnnkit.serve import Limits, loopback_warning  # noqa: E402


def events(body: str) -> list[tuple[str, dict]]:
    """(event, data) of a text/event-stream body."""
    out = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_page_health_and_info(lm_server, client):
    page = client.get(lm_server.url + "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="prompt"' in page.text and "/viz" in page.text
    assert "://" not in page.text  # no external URL: works offline
    health = client.get(lm_server.url + "/health")
    assert health.status_code == 200
    assert health.json()["task"] == "lm" and health.json()["run"].startswith("lm-")
    info = client.get(lm_server.url + "/v1/info").json()
    assert info["task"] == "lm" and info["vocab_size"] > 10
    assert "POST /v1/sample" in info["endpoints"] and info["limits"]["max_length"] == 2000
    assert info["model"]["encoder"]["hidden"] == 32
    assert client.get(lm_server.url + "/openapi.json").json()["paths"]["/v1/sample"]


def test_greedy_sample_is_the_librarys_and_streams_the_same_text(lm_server, lm_run, client):
    body = {"prompt": "the ", "length": 40, "greedy": True}
    first = client.post(lm_server.url + "/v1/sample", json=body)
    second = client.post(lm_server.url + "/v1/sample", json=body)
    assert first.status_code == 200, first.text
    text = first.json()["text"]
    assert second.json()["text"] == text and len(text) == 40 and first.json()["tokens"] == 40
    assert text == rnnkit.load(lm_run).sample("the ", 40, SampleConfig(greedy=True))
    r = client.post(lm_server.url + "/v1/sample", json=body | {"stream": True})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    ev = events(r.text)
    tokens = [d["text"] for name, d in ev if name == "token"]
    assert len(tokens) == 40 and "".join(tokens) == text
    assert ev[-1][0] == "done" and ev[-1][1]["text"] == text and ev[-1][1]["stopped"] is None
    seeded = {"prompt": "the", "length": 30, "seed": 7, "temperature": 1.0}
    a = client.post(lm_server.url + "/v1/sample", json=seeded).json()["text"]
    assert client.post(lm_server.url + "/v1/sample", json=seeded).json()["text"] == a


def test_bounds_and_errors_are_json_and_the_server_stays_up(lm_server, client):
    url = lm_server.url
    big = client.post(url + "/v1/sample", content=b"x" * 2_000_000,
                      headers={"content-type": "application/json"})
    assert big.status_code == 413 and big.json()["error"] == "body_too_large"
    chunked = client.post(url + "/v1/sample", content=(b"x" * 100_000 for _ in range(30)),
                          headers={"content-type": "application/json"})
    assert chunked.status_code == 413 and "max_body_bytes" in chunked.json()["detail"]
    long = client.post(url + "/v1/sample", json={"length": 10**9})
    assert long.status_code == 422 and "max_length" in long.json()["detail"]
    assert "2000" in long.json()["detail"]
    for body, where in (({"temperature": -1}, "temperature"), ({"top_p": 2}, "top_p"),
                        ({"lenght": 5}, "lenght")):
        r = client.post(url + "/v1/sample", json=body)
        assert r.status_code == 422 and where in r.json()["detail"], r.text
    bad = client.post(url + "/v1/sample", content=b"{not json",
                      headers={"content-type": "application/json"})
    assert bad.status_code == 422 and "not valid JSON" in bad.json()["detail"]
    other = client.post(url + "/v1/predict", json={"texts": ["a"]})
    assert other.status_code == 404 and "POST /v1/sample" in other.json()["detail"]
    assert client.get(url + "/nowhere").json()["error"] == "not_found"
    assert client.get(url + "/v1/sample").status_code == 405
    assert client.get(url + "/health").status_code == 200


def test_listens_on_loopback_only(lm_server):
    host, port = lm_server.address
    assert host == "127.0.0.1" and port > 0
    sock = lm_server.server.servers[0].sockets[0]
    assert sock.getsockname()[0] == "127.0.0.1"
    assert loopback_warning("127.0.0.1") is None and loopback_warning("::1") is None
    assert "no authentication" in loopback_warning("0.0.0.0")


def test_busy_beyond_the_queue_is_503_with_retry_after(lm_run, client):
    loaded = rnnkit.load(lm_run)
    entered, release = threading.Event(), threading.Event()

    def blocking_sample(prime, length, sampling=None, on_text=None):
        entered.set()
        release.wait(20)
        return "x" * length

    loaded.sample = blocking_sample
    server = start(loaded, Limits(max_concurrent=1, max_queue=0))
    try:
        result = {}
        t = threading.Thread(target=lambda: result.setdefault(
            "r", client.post(server.url + "/v1/sample", json={"length": 3})))
        t.start()
        assert entered.wait(10)
        assert client.get(server.url + "/health").json()["active"] == 1
        busy = client.post(server.url + "/v1/sample", json={"length": 3})
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert busy.json()["error"] == "busy" and "max_queue 0" in busy.json()["detail"]
        streamed = client.post(server.url + "/v1/sample", json={"length": 3, "stream": True})
        assert streamed.status_code == 503
        release.set()
        t.join(10)
        assert result["r"].status_code == 200 and result["r"].json()["text"] == "xxx"
        assert client.post(server.url + "/v1/sample", json={"length": 2}).status_code == 200
    finally:
        release.set()
        server.stop()


def test_time_limit_stops_generation_and_errors_are_500(lm_run, client):
    loaded = rnnkit.load(lm_run)

    def slow_sample(prime, length, sampling=None, on_text=None):
        for _ in range(length):
            time.sleep(0.02)
            on_text("a")
        return "a" * length

    loaded.sample = slow_sample
    loaded.model.forward = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom"))
    server = start(loaded, Limits(timeout=0.5))
    try:
        t0 = time.monotonic()
        r = client.post(server.url + "/v1/sample", json={"length": 1000, "stream": True})
        last = events(r.text)[-1]
        assert last[0] == "done" and last[1]["stopped"] == "time_limit"
        assert 0 < last[1]["tokens"] < 1000 and time.monotonic() - t0 < 3
        plain = client.post(server.url + "/v1/sample", json={"length": 1000}).json()
        assert plain["stopped"] == "time_limit" and 0 < len(plain["text"]) < 1000
    finally:
        server.stop()
    # A model call that raises is a 500 (on a server whose time limit a slow machine cannot
    # reach first: the viewer's first call imports and builds more than half a second's work).
    server = start(loaded, Limits(timeout=60))
    try:
        viz = client.get(server.url + "/viz", params={"text": "the fox"})
        assert viz.status_code == 500 and viz.json() == {"error": "internal_error",
                                                         "detail": "RuntimeError: boom"}
        assert client.get(server.url + "/health").status_code == 200
    finally:
        server.stop()


def test_viewer_page_of_the_served_model(lm_server, classify_server, client):
    r = client.get(lm_server.url + "/viz", params={"text": "the lazy dog sleeps"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "rnnkit viewer" in r.text and '"n":19' in r.text
    assert client.get(lm_server.url + "/viz", params={"text": "x" * 30_000}).status_code == 422
    assert client.get(classify_server.url + "/viz").status_code == 404


def test_classify_predict_is_the_librarys(classify_server, classify_run, client):
    texts = ["good great", "awful poor bad", "fine"]
    r = client.post(classify_server.url + "/v1/predict", json={"texts": texts, "top_k": 2})
    assert r.status_code == 200, r.text
    loaded = rnnkit.load(classify_run)
    probs = loaded.proba(texts)
    body = r.json()
    assert body["labels"] == loaded.labels.itos == ["neg", "pos"]
    for p, row in zip(body["predictions"], probs):
        assert p["label"] == loaded.labels.itos[int(row.argmax())]
        got = {c["label"]: c["probability"] for c in p["top"]}
        want = dict(zip(loaded.labels.itos, row.tolist()))
        assert got == pytest.approx(want, abs=1e-6)
    assert [p["label"] for p in body["predictions"]] == [lab for lab, _ in loaded.predict(texts)]
    many = client.post(classify_server.url + "/v1/predict", json={"texts": ["a"] * 65})
    assert many.status_code == 422 and "max_batch" in many.json()["detail"]
    assert client.post(classify_server.url + "/v1/predict", json={"texts": []}).status_code == 422
    assert torch.isfinite(probs).all()


def test_command_line_serves_on_loopback(lm_run):
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "rnnkit", "serve", str(lm_run), "--port", "0", "--log-level",
           "warning", "--device", "cpu"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env) as p:
        try:
            line = p.stdout.readline()
            assert "serving the lm run" in line and "http://127.0.0.1:" in line
            url = line.split(" at ")[1].split()[0]
            assert httpx.get(url + "health", timeout=10).json()["task"] == "lm"
            assert httpx.get(url + "v1/info", timeout=10).json()["device"] == "cpu"
        finally:
            p.send_signal(signal.SIGINT)
            _, err = p.communicate(timeout=15)
    assert p.returncode == 0 and "server stopped" in err and "Traceback" not in err, err


def test_command_line_warns_off_loopback_and_names_a_missing_extra(lm_run, monkeypatch,
                                                                   capsys):
    import rnnkit.serve.server as server

    calls = []
    monkeypatch.setattr(server, "serve", lambda *a, **k: calls.append((a, k)))
    assert main(["serve", str(lm_run), "--host", "0.0.0.0", "--max-queue", "0"]) == 0
    assert "rnnkit: warning: binding 0.0.0.0 exposes" in capsys.readouterr().err
    (args, kw), = calls
    assert args[1:3] == ("0.0.0.0", 8000) and args[3].max_queue == 0 and kw["warn"] is False
    assert main(["serve", str(lm_run), "--timeout", "0"]) == 2
    assert "timeout must be > 0" in capsys.readouterr().err
    assert main(["serve", str(lm_run), "--device", "tpu"]) == 2
    assert "unknown device 'tpu'" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    assert main(["serve", str(lm_run)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("rnnkit: error: rnnkit serve needs the uvicorn package: pip install "
                   "'rnnkit[serve]'")
