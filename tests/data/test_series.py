"""Readers of numeric series (.ts, .npy/.npz, CSV long and wide) and normalisation."""

import numpy as np
import pytest

from rnnkit.data import DataError
from rnnkit.data.scaling import Normalizer
from rnnkit.data.series import impute, read_series

TS_MULTI = """# a comment
@problemName Toy
@timeStamps false
@univariate false
@dimensions 2
@equalLength false
@classLabel true a b
@data
1,2,3:4,5,6:a
7,8:9,10:b
"""


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_ts_multivariate_unequal_lengths(tmp_path):
    d = read_series(write(tmp_path, "toy_TRAIN.ts", TS_MULTI))
    assert d.labels == ["a", "b"]
    assert [x.shape for x in d.series] == [(3, 2), (2, 2)]
    np.testing.assert_array_equal(d.series[0], [[1, 4], [2, 5], [3, 6]])
    np.testing.assert_array_equal(d.series[1][:, 1], [9, 10])
    assert d.lines == [9, 10] and d.series[0].dtype == np.float32


def test_ts_univariate_without_labels(tmp_path):
    d = read_series(write(tmp_path, "u.ts", "@univariate true\n@classLabel false\n@data\n"
                                           "1,2,3,4\n5,6\n"))
    assert d.labels is None and [len(x) for x in d.series] == [4, 2]
    assert d.num_features == 1


@pytest.mark.parametrize("body, line, problem", [
    ("1,2:3,4:a\n1,2:a\n", 10, "expected 2 dimensions"),
    ("1,2:3,4:c\n", 9, "not in the @classLabel list"),
    ("1,x:3,4:a\n", 9, "not a number: 'x'"),
    ("1,2,3:3,4:a\n", 9, "different lengths"),
    ("1,?:3,4:a\n", 9, "missing value at step 1, feature 0"),
])
def test_ts_errors_name_file_and_line(tmp_path, body, line, problem):
    head = TS_MULTI.split("@data\n")[0] + "@data\n"
    p = write(tmp_path, "bad.ts", head + body)
    with pytest.raises(DataError, match=problem) as e:
        read_series(p)
    assert e.value.path == str(p) and e.value.line == line
    assert str(e.value).startswith(f"{p}:{line}:")


def test_ts_header_errors(tmp_path):
    with pytest.raises(DataError, match="no @data"):
        read_series(write(tmp_path, "h.ts", "@problemName x\n"))
    with pytest.raises(DataError, match="@-header") as e:
        read_series(write(tmp_path, "h2.ts", "@problemName x\n1,2,3\n"))
    assert e.value.line == 2


def test_missing_values_imputed_only_when_asked(tmp_path):
    p = write(tmp_path, "m.ts", "@classLabel false\n@data\n?,2,NaN,4:1,?,3,?\n")
    with pytest.raises(DataError, match="missing"):
        read_series(p)
    ff = read_series(p, missing="ffill").series[0]
    np.testing.assert_array_equal(ff, [[2, 1], [2, 1], [2, 3], [4, 3]])
    z = read_series(p, missing="zero").series[0]
    np.testing.assert_array_equal(z, [[0, 1], [2, 0], [0, 3], [4, 0]])


def test_impute_all_missing_column_is_zero():
    x = np.array([[np.nan, 1.0], [np.nan, 2.0]], dtype=np.float32)
    np.testing.assert_array_equal(impute(x, "ffill", "f", 1), [[0, 1], [0, 2]])


def test_npz_with_lengths_and_labels(tmp_path):
    X = np.arange(2 * 4 * 3, dtype=np.float64).reshape(2, 4, 3)
    p = tmp_path / "d.npz"
    np.savez(p, X=X, y=np.array([3, 7]), lengths=np.array([4, 2]))
    d = read_series(p)
    assert [x.shape for x in d.series] == [(4, 3), (2, 3)] and d.labels == ["3", "7"]
    np.testing.assert_array_equal(d.series[1], X[1, :2])


def test_npy_univariate_and_bad_shapes(tmp_path):
    p = tmp_path / "u.npy"
    np.save(p, np.ones((5, 7)))
    d = read_series(p)
    assert len(d) == 5 and d.series[0].shape == (7, 1)
    np.savez(tmp_path / "bad.npz", X=np.ones((2, 3)), lengths=np.array([1, 9]))
    with pytest.raises(DataError, match="lengths must be"):
        read_series(tmp_path / "bad.npz")
    np.savez(tmp_path / "nox.npz", data=np.ones(3))
    with pytest.raises(DataError, match="needs an array 'X'"):
        read_series(tmp_path / "nox.npz")
    X = np.ones((2, 3))
    X[1, 2] = np.nan
    np.save(tmp_path / "nan.npy", X)
    with pytest.raises(DataError, match="series 1: missing value at step 2"):
        read_series(tmp_path / "nan.npy")


LONG = """id,t,a,b,tag,cls
s1,0,1.0,10,x,up
s2,0,5.0,50,y,down
s1,1,2.0,20,x,up
s2,1,6.0,60,x,down
s1,2,3.0,30,y,up
"""


def test_csv_long_form_groups_series_with_step_labels(tmp_path):
    d = read_series(write(tmp_path, "long.csv", LONG), id_col="id", time_col="t",
                    label_col="cls", step_label_col="tag")
    assert d.ids == ["s1", "s2"] and d.features == ["a", "b"]
    np.testing.assert_array_equal(d.series[0], [[1, 10], [2, 20], [3, 30]])
    np.testing.assert_array_equal(d.series[1], [[5, 50], [6, 60]])
    assert d.labels == ["up", "down"] and d.step_labels == [["x", "x", "y"], ["y", "x"]]
    assert d.lines == [2, 3]


def test_csv_long_errors(tmp_path):
    p = write(tmp_path, "long.csv", LONG.replace("s2,1,6.0,60", "s2,1,,60"))
    with pytest.raises(DataError, match="missing value at step 1, feature 0") as e:
        read_series(p, id_col="id", time_col="t", label_col="cls", step_label_col="tag")
    assert e.value.line == 5
    with pytest.raises(DataError, match="no value column named 'zz'") as e:
        read_series(p, value_cols=["zz"])
    assert e.value.line == 1
    q = write(tmp_path, "lab.csv", LONG.replace("s1,2,3.0,30,y,up", "s1,2,3.0,30,y,down"))
    with pytest.raises(DataError, match="label must not change") as e:
        read_series(q, id_col="id", time_col="t", label_col="cls", step_label_col="tag")
    assert e.value.line == 6


def test_csv_wide_form(tmp_path):
    p = write(tmp_path, "w.csv", "name,label,t0,t1,t2\nA,pos,1,2,3\nB,neg,4,5,\n")
    d = read_series(p, "wide", id_col="name", label_col="label")
    assert d.ids == ["A", "B"] and d.labels == ["pos", "neg"]
    assert [x[:, 0].tolist() for x in d.series] == [[1, 2, 3], [4, 5]]
    with pytest.raises(DataError, match="suffix"):
        read_series(write(tmp_path, "x.dat", "1"))


def test_normalizer_uses_training_statistics_only(tmp_path):
    train = [np.array([[0.0, 5.0], [2.0, 5.0]]), np.array([[4.0, 5.0]])]
    test = [np.array([[100.0, 7.0]])]
    norm = Normalizer.fit(train, "feature")
    assert norm.mean == pytest.approx([2.0, 5.0])
    assert norm.std == pytest.approx([np.std([0, 2, 4]), 1.0])  # constant feature: std 1
    z = norm.transform(test[0])
    np.testing.assert_allclose(z, [[98 / np.std([0, 2, 4]), 2.0]], rtol=1e-6)
    norm.save(tmp_path / "n.json")
    again = Normalizer.load(tmp_path / "n.json")
    np.testing.assert_allclose(again.transform(test[0]), z)
    np.testing.assert_allclose(again.inverse(z), test[0], rtol=1e-5)
    per = Normalizer.fit(train, "series").transform(np.array([[1.0], [3.0]]))
    np.testing.assert_allclose(per[:, 0], [-1, 1])


def test_csv_long_default_values_are_the_numeric_columns(tmp_path, caplog):
    p = write(tmp_path, "f.csv", "id,t,who,a,b,y\ns,0,ann,1,2,x\ns,1,ann,3,4,z\n")
    d = read_series(p, id_col="id", time_col="t", step_label_col="y")
    assert d.features == ["a", "b"] and "'who' holds no numbers" in caplog.text
    assert d.step_lines == [[2, 3]] and d.times == [["0", "1"]]
    # a column of numbers with one text cell is an error naming that cell
    q = write(tmp_path, "g.csv", "id,a,b,y\ns,1,2,x\ns,1,oops,z\n")
    with pytest.raises(DataError, match="not a number in column 'b': 'oops'") as e:
        read_series(q, id_col="id", step_label_col="y")
    assert e.value.line == 3 and e.value.path == str(q)
    with pytest.raises(DataError, match="no per-step label column named 'lab'"):
        read_series(p, step_label_col="lab")
    d = read_series(p, id_col="id", step_label_col="lab", labels_optional=True)
    assert d.step_labels is None and d.features == ["t", "a", "b"]
    r = write(tmp_path, "h.csv", "a,y\n1,x\n2,\n")
    with pytest.raises(DataError, match="h.csv:3: empty label in column 'y'"):
        read_series(r, step_label_col="y")


def test_npz_per_step_labels(tmp_path):
    X = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    y = np.array([["a", "b", "b"], ["b", "a", "?"]])
    np.savez(tmp_path / "f.npz", X=X, y=y, lengths=np.array([3, 2]))
    d = read_series(tmp_path / "f.npz")
    assert d.labels is None and d.step_labels == [["a", "b", "b"], ["b", "a"]]
    np.savez(tmp_path / "bad.npz", X=X, y=np.zeros((2, 4)))
    with pytest.raises(DataError, match=r"y must be \(N,\) = \(2,\) class labels or \(N, T\)"):
        read_series(tmp_path / "bad.npz")


def test_parquet_long_and_wide(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    long = pa.table({"id": [1, 2, 1], "t": ["a", "b", "c"], "v": [1.0, 2.0, None],
                     "w": [1, 2, 3], "y": ["x", "y", "x"]})
    pq.write_table(long, tmp_path / "f.parquet")
    with pytest.raises(DataError, match="missing value at step 1, feature 0") as e:
        read_series(tmp_path / "f.parquet", id_col="id", time_col="t", step_label_col="y")
    assert e.value.line == 3  # the 1-based row
    d = read_series(tmp_path / "f.parquet", id_col="id", time_col="t", step_label_col="y",
                    missing="ffill")
    assert d.ids == ["1", "2"] and d.features == ["v", "w"] and d.times == [["a", "c"], ["b"]]
    np.testing.assert_array_equal(d.series[0], [[1, 1], [1, 3]])
    assert d.step_labels == [["x", "x"], ["y"]] and d.step_lines == [[1, 3], [2]]
    bad = pa.table({"v": [1.0, 2.0], "w": ["1", "x"]})
    pq.write_table(bad, tmp_path / "bad.pq")
    with pytest.raises(DataError, match="bad.pq:2: not a number in column 'w': 'x'"):
        read_series(tmp_path / "bad.pq")
    wide = pa.table({"name": ["A", "B"], "label": ["p", "n"], "t0": [1.0, 4.0],
                     "t1": [2.0, None]})
    pq.write_table(wide, tmp_path / "w.parquet")
    d = read_series(tmp_path / "w.parquet", "wide", id_col="name", label_col="label")
    assert d.ids == ["A", "B"] and d.labels == ["p", "n"]
    assert [x[:, 0].tolist() for x in d.series] == [[1, 2], [4]]
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(DataError, match="junk.parquet: not a readable Parquet file"):
        read_series(tmp_path / "junk.parquet")


def test_parquet_without_pyarrow_names_the_package(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow raises ImportError
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    (tmp_path / "f.parquet").write_bytes(b"PAR1")
    from rnnkit.extras import MissingExtra

    with pytest.raises(MissingExtra, match=r"f.parquet: reading Parquet \(or save the table as "
                       r"CSV\) needs the pyarrow package: pip install 'rnnkit\[series\]'"):
        read_series(tmp_path / "f.parquet")
