"""CoNLL-U and whitespace-column readers: skipped lines, chosen columns, located errors."""

import gzip
from pathlib import Path

import pytest

from rnnkit.data import DataError
from rnnkit.data.conllu import detect_tag_format, read_columns, read_conllu, read_tagged

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"

CONLLU = """# newdoc id = d1
# sent_id = 1
# text = I don't know.
1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t_\t_
2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
2\tdo\tdo\tAUX\tVBP\t_\t3\taux\t_\t_
3\tn't\tnot\tPART\tRB\t_\t0\troot\t_\t_
3.1\tknow\tknow\tVERB\tVB\t_\t_\t_\t3:conj\t_
4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_

# sent_id = 2
1\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_\t_

"""


def _write(p: Path, text: str) -> Path:
    p.write_text(text)
    return p


def test_conllu_skips_comments_multiwords_empty_nodes(tmp_path):
    p = _write(tmp_path / "a.conllu", CONLLU)
    s = read_conllu(p)
    assert [x.words for x in s] == [["I", "do", "n't", "."], ["Yes"]]
    assert [x.tags for x in s] == [["PRON", "AUX", "PART", "PUNCT"], ["INTJ"]]
    assert s[0].line == 4 and s[0].tag_lines == (4, 6, 7, 9) and s[1].line == 12
    assert read_conllu(p, "xpos")[0].tags == ["PRP", "VBP", "RB", "."]
    assert read_conllu(p, 7)[0].tags == ["nsubj", "aux", "root", "punct"]
    assert read_conllu(p, None)[0].tags is None
    assert read_conllu(p, word_col="lemma")[0].words == ["I", "do", "not", "."]


def test_conllu_gzip_and_detection(tmp_path):
    p = tmp_path / "x.conllu.gz"
    p.write_bytes(gzip.compress(CONLLU.encode()))
    assert detect_tag_format(p) == "conllu"
    assert len(read_tagged(p)) == 2
    assert detect_tag_format(tmp_path / "train.txt") == "columns"


@pytest.mark.parametrize("bad_line,pattern", [
    ("2\tdo\tdo\tAUX\tVBP\t_\t3\taux\t_", r"a\.conllu:6: expected 10 tab-separated CoNLL-U "
                                          r"fields, found 9"),
    ("2\tdo\tdo\t_\tVBP\t_\t3\taux\t_\t_", r"a\.conllu:6: empty tag \('_'\) in column upos"),
    ("x\tdo\tdo\tAUX\tVBP\t_\t3\taux\t_\t_", r"a\.conllu:6: word ID must be an integer"),
])
def test_conllu_malformed(tmp_path, bad_line, pattern):
    text = CONLLU.replace("2\tdo\tdo\tAUX\tVBP\t_\t3\taux\t_\t_", bad_line)
    with pytest.raises(DataError, match=pattern):
        read_conllu(_write(tmp_path / "a.conllu", text))


def test_conllu_unknown_column_and_empty_file(tmp_path):
    p = _write(tmp_path / "a.conllu", CONLLU)
    with pytest.raises(ValueError, match="unknown CoNLL-U tag column 'pos'"):
        read_conllu(p, "pos")
    with pytest.raises(DataError, match=r"b\.conllu: no sentences"):
        read_conllu(_write(tmp_path / "b.conllu", "# only a comment\n"))


COLUMNS = """-DOCSTART- -X- O O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC

Peter NNP B-NP B-PER
"""


def test_columns_choose_column(tmp_path):
    p = _write(tmp_path / "c.txt", COLUMNS)
    s = read_columns(p)
    assert [x.words for x in s] == [["EU", "rejects", "German"], ["Peter"]]
    assert s[0].tags == ["B-ORG", "O", "B-MISC"] and s[0].line == 3
    assert read_columns(p, 1)[0].tags == ["NNP", "VBZ", "JJ"]
    assert read_tagged(p, column="2")[1].tags == ["B-NP"]


def test_columns_ragged_and_bad_index(tmp_path):
    p = _write(tmp_path / "c.txt", COLUMNS.replace("rejects VBZ B-VP O", "rejects VBZ O"))
    with pytest.raises(DataError, match=r"c\.txt:4: found 3 fields, but earlier lines have 4 "
                                        r"\(ragged columns\)"):
        read_columns(p)
    with pytest.raises(DataError, match=r"d\.txt:3: no tag column 7: lines have 4 fields"):
        read_columns(_write(tmp_path / "d.txt", COLUMNS), 7)
    with pytest.raises(ValueError, match="no column names"):
        read_columns(p, "upos")


def test_lines_format_and_wrong_encoding(tmp_path):
    p = _write(tmp_path / "s.txt", "the cat  sat\n\nhi\n")
    assert [s.words for s in read_tagged(p, "lines")] == [["the", "cat", "sat"], ["hi"]]
    bad = tmp_path / "bad.conllu"
    bad.write_bytes(CONLLU.encode().replace(b"Yes\tyes", b"Y\xe9s\tyes"))
    with pytest.raises(DataError, match=r"bad\.conllu:12: byte 0xe9"):
        read_conllu(bad)


@pytest.mark.skipif(not (SHARED / "ud-english-ewt").is_dir(), reason="../shared/data absent")
def test_ewt_dev_counts():
    s = read_conllu(SHARED / "ud-english-ewt" / "en_ewt-ud-dev.conllu.gz")
    assert len(s) == 2001 and sum(len(x.words) for x in s) == 25147
    assert len({t for x in s for t in x.tags}) == 17
