"""Property-based tests for every file reader: random bytes, encodings and column layouts give
either a result or a DataError that names the file -- never another exception."""

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnkit.data import DataError
from rnnkit.data.conllu import read_columns, read_conllu
from rnnkit.data.series import read_series
from rnnkit.data.tables import read_examples

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
ENCODINGS = st.sampled_from(["utf-8", "latin-1", "utf-16", "cp1252"])
CELL = st.text(alphabet=string.ascii_letters + string.digits + " ,;\t\"'?.-", max_size=8)


def _check(call, name):
    try:
        return call()
    except DataError as e:
        assert name in str(e), str(e)
        return None


@SETTINGS
@given(data=st.binary(max_size=300), encoding=ENCODINGS,
       suffix=st.sampled_from([".csv", ".tsv", ".jsonl"]))
def test_tables_random_bytes(tmp_path, data, encoding, suffix):
    p = tmp_path / f"rand{suffix}"
    p.write_bytes(data)
    out = _check(lambda: read_examples(p, encoding=encoding), p.name)
    assert out is None or all(ex.text.strip() for ex in out)


@SETTINGS
@given(rows=st.lists(st.lists(CELL, min_size=0, max_size=4), max_size=6),
       text_col=st.sampled_from(["text", 0, 1, 3]), label_col=st.sampled_from(["label", 1, 2]),
       header=st.booleans())
def test_tables_random_column_layouts(tmp_path, rows, text_col, label_col, header):
    p = tmp_path / "layout.csv"
    lines = (["text,label"] if header else []) + [",".join(r) for r in rows]
    p.write_text("\n".join(lines) + "\n")
    _check(lambda: read_examples(p, text_col=text_col, label_col=label_col, header=header),
           "layout.csv")


@SETTINGS
@given(data=st.binary(max_size=300), encoding=ENCODINGS)
def test_conllu_and_columns_random_bytes(tmp_path, data, encoding):
    p = tmp_path / "rand.conllu"
    p.write_bytes(data)
    _check(lambda: read_conllu(p, encoding=encoding), "rand.conllu")
    q = tmp_path / "rand.txt"
    q.write_bytes(data)
    _check(lambda: read_columns(q, encoding=encoding), "rand.txt")


@SETTINGS
@given(lines=st.lists(st.lists(CELL, min_size=1, max_size=10), max_size=8))
def test_conllu_random_layouts(tmp_path, lines):
    p = tmp_path / "layout.conllu"
    p.write_text("\n".join("\t".join(r) for r in lines) + "\n")
    _check(lambda: read_conllu(p), "layout.conllu")


@SETTINGS
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".ts", ".csv", ".npy", ".npz"]))
def test_series_random_bytes(tmp_path, data, suffix):
    p = tmp_path / f"rand{suffix}"
    p.write_bytes(data)
    _check(lambda: read_series(p), p.name)


@SETTINGS
@given(rows=st.lists(st.lists(st.sampled_from(["1", "2.5", "?", "", "x", "-3", "nan"]),
                              min_size=1, max_size=5), max_size=6))
def test_series_csv_random_layouts(tmp_path, rows):
    p = tmp_path / "long.csv"
    p.write_text("id,t,v\n" + "\n".join(",".join(r) for r in rows) + "\n")
    _check(lambda: read_series(p, id_col="id", time_col="t"), "long.csv")
