"""Tiny runs trained once per session (a character LM, a text classifier) and real uvicorn
servers over them on free loopback ports (:class:`rnnkit.serve.BackgroundServer`)."""

import pytest

import rnnkit
from tests.helpers import write_polarity_csv


def need_serve():
    """Skip unless the serve extra and httpx are installed; returns httpx."""
    for module in ("fastapi", "uvicorn"):
        pytest.importorskip(module, reason="the serve extra (fastapi, uvicorn) is not installed")
    return pytest.importorskip("httpx", reason="httpx (a dev dependency) is not installed")


TEXT = "the quick brown fox jumps over the lazy dog.\nthe dog sleeps; the fox runs.\n" * 20


@pytest.fixture(scope="session")
def lm_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve-lm")
    (root / "t.txt").write_text(TEXT)
    # Tiny, but trained enough (under a second) to write the text back: a readable page.
    return rnnkit.fit("lm", data={"data": str(root / "t.txt"), "batch_size": 8, "chunk_len": 16},
                      model={"embed": 16, "encoder": {"hidden": 32}},
                      train={"steps": 200, "lr": 0.03}, out=root / "runs")


@pytest.fixture(scope="session")
def classify_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve-classify")
    write_polarity_csv(root / "c.csv")
    return rnnkit.fit("classify", data={"data": str(root / "c.csv"), "batch_size": 4},
                      model={"embed": 8, "encoder": {"hidden": 8}}, train={"steps": 20},
                      out=root / "runs")


def start(run, limits=None):
    """A started server over ``run`` (a folder or a loaded run); stop it when done."""
    need_serve()
    from rnnkit.serve import BackgroundServer, Limits, create_app

    return BackgroundServer(create_app(run, limits or Limits())).start()


@pytest.fixture(scope="session")
def lm_server(lm_run):
    server = start(lm_run)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def classify_server(classify_run):
    server = start(classify_run)
    yield server
    server.stop()


@pytest.fixture
def client():
    httpx = need_serve()
    with httpx.Client(timeout=30) as c:
        yield c
