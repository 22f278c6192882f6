"""The task registry and the one lifecycle: every task declared once, defaults in one place,
a run of another task refused in one line, the library and the command line alike."""

import argparse
import json
from dataclasses import asdict

import pytest

import rnnkit
from rnnkit.cli.main import build_parser, main
from rnnkit.cli.train_cmd import settings_of
from rnnkit.config import ConfigError
from rnnkit.tasks import lifecycle, registry
from rnnkit.tasks.spec import LoadedRun

TEXT = "to be or not to be, that is the question.\n" * 30


def _parse(*argv):
    return build_parser().parse_args(list(argv))


@pytest.mark.parametrize("spec", registry.TASKS, ids=lambda s: s.name)
def test_every_task_is_declared_once_and_complete(spec):
    assert registry.get(spec.name) is spec
    assert issubclass(spec.loaded, LoadedRun) and spec.loaded.task == spec.name
    settings = spec.default_config()
    assert {"data", "train"} <= set(asdict(settings))
    assert spec.help and spec.description and spec.describe(settings)


@pytest.mark.parametrize("spec", registry.TASKS, ids=lambda s: s.name)
def test_the_command_with_no_options_trains_the_library_defaults(spec):
    args = _parse("train", spec.name)
    assert asdict(settings_of(args)) == asdict(spec.default_config())


def test_classifier_defaults_include_the_ngram_branch_in_both():
    lib = registry.get("classify").default_config()
    cli = settings_of(_parse("train", "classify"))
    assert lib.model.ngram.weight == cli.model.ngram.weight == -1.0
    assert lib.train.lr == cli.train.lr == 1e-3 and lib.train.epochs == 6.0


@pytest.mark.parametrize("name", registry.names())
def test_help_prints_each_default_once(name, capsys):
    with pytest.raises(SystemExit):
        main(["train", name, "--help"])
    out = capsys.readouterr().out
    assert out.count("(default:") > 10
    for line in out.splitlines():
        assert line.count("(default:") <= 1, line


def test_options_choices_and_prefixes(capsys):
    with pytest.raises(SystemExit):
        main(["train", "classify", "--help"])
    out = capsys.readouterr().out
    assert "--cell {lstm,gru,rnn,rnn_relu}" in out and "--ngram-weight" in out
    assert "--ngram-loss {logistic,squared_hinge}" in out and "--pooling" in out
    assert main(["train", "lm", "--cell", "tcn"]) == 2
    err = capsys.readouterr().err
    assert "cell must be one of ('lstm', 'gru', 'rnn', 'rnn_relu'), got 'tcn'" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_budget_given_replaces_the_default_one():
    s = settings_of(_parse("train", "lm", "--steps", "60"))
    assert s.train.steps == 60 and s.train.minutes is None
    assert settings_of(_parse("train", "lm")).train.minutes == 3.0
    lib = lifecycle.make_settings(registry.get("lm"), None, {"train": {"epochs": 2}})
    assert lib.train.epochs == 2 and lib.train.minutes is None


def test_config_file_sets_options_and_the_command_line_overrides_it(tmp_path):
    toml = tmp_path / "lm.toml"
    toml.write_text('[data]\nbatch_size = 8\n[model]\nembed = 24\n[model.encoder]\n'
                    'hidden = 40\ncell = "gru"\n[train]\nsteps = 7\nlr = 0.01\n')
    s = settings_of(_parse("train", "lm", "--config", str(toml), "--hidden", "44"))
    assert (s.data.batch_size, s.model.embed, s.model.encoder.cell) == (8, 24, "gru")
    assert s.model.encoder.hidden == 44 and s.train.steps == 7 and s.train.minutes is None
    js = tmp_path / "lm.json"
    js.write_text(json.dumps({"train": {"minutes": 0.5}}))
    s = settings_of(_parse("train", "lm", "--config", str(js), "--steps", "5"))
    assert s.train.steps == 5 and s.train.minutes is None  # the command line's budget wins
    bad = tmp_path / "bad.toml"
    bad.write_text("[model.encoder]\nhiden = 3\n")
    with pytest.raises(ConfigError, match=r"model\.encoder\.hiden: unknown option"):
        settings_of(_parse("train", "lm", "--config", str(bad)))
    bad.write_text('[model.encoder]\nhidden = "many"\n')
    with pytest.raises(ConfigError, match=r"model\.encoder\.hidden: expected an integer"):
        settings_of(_parse("train", "lm", "--config", str(bad)))


def test_a_run_config_json_is_a_config_file(tmp_path, capsys):
    (tmp_path / "t.txt").write_text(TEXT)
    base = ["train", "lm", "--data", str(tmp_path / "t.txt"), "--steps", "4", "--hidden", "12",
            "--embed", "8", "--batch-size", "2", "--chunk-len", "8", "--sample-length", "0"]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    (run,) = (tmp_path / "a").iterdir()
    s = settings_of(_parse("train", "lm", "--config", str(run / "config.json")))
    assert s.model.encoder.hidden == 12 and s.data.chunk_len == 8 and s.train.steps == 4
    with pytest.raises(ConfigError, match="the config of a 'lm' run, not of a 'classify'"):
        settings_of(_parse("train", "classify", "--config", str(run / "config.json")))


def test_resuming_or_loading_another_task_is_one_line(tmp_path, capsys):
    (tmp_path / "config.json").write_text(json.dumps({"task": "classify", "data": {}}))
    for argv in (["train", "lm", "--resume", str(tmp_path)],
                 ["train", "tag", "--resume", str(tmp_path)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert f"{tmp_path}: a 'classify' run, not a '{argv[1]}' run" in err
    (tmp_path / "config.json").write_text(json.dumps({"task": "alchemy"}))
    assert main(["predict", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "a run of task 'alchemy', which this rnnkit does not know" in err
    with pytest.raises(registry.UnknownTask):
        rnnkit.load(tmp_path)
    with pytest.raises(lifecycle.TaskMismatch, match="not a 'lm' run"):
        lifecycle.load(registry.get("lm"), tmp_path.parent / "nothing", saved={"task": "tag"})


def test_library_train_and_load_round_trip(tmp_path):
    (tmp_path / "t.txt").write_text(TEXT)
    run = rnnkit.fit("lm", data={"data": str(tmp_path / "t.txt"), "batch_size": 2,
                                 "chunk_len": 8},
                     model={"embed": 8, "encoder": {"hidden": 12}},
                     train={"steps": 6, "log_every": 3}, out=tmp_path / "runs")
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["task"] == "lm" and cfg["train"]["steps"] == 6 and cfg["train"]["minutes"] is None
    loaded = rnnkit.load(run)
    assert loaded.settings.model.encoder.hidden == 12 and len(loaded.vocab) == cfg["sizes"]["vocab"]
    assert len(loaded.sample("to", 5)) == 5
    assert loaded.evaluate(tmp_path / "t.txt")["tokens"] == len(TEXT) - 1
    with pytest.raises(ConfigError, match="encoder.hiden: unknown option"):
        rnnkit.fit("lm", model={"encoder": {"hiden": 3}}, out=tmp_path / "x")


def test_a_resumed_run_takes_a_new_budget_and_refuses_other_changes(tmp_path, capsys):
    (tmp_path / "t.txt").write_text(TEXT)
    argv = ["train", "lm", "--data", str(tmp_path / "t.txt"), "--batch-size", "2",
            "--chunk-len", "8", "--embed", "8", "--hidden", "12", "--steps", "6",
            "--sample-length", "0", "--out", str(tmp_path / "runs"), "--device", "cpu"]
    assert main(argv) == 0
    (run,) = (tmp_path / "runs").iterdir()
    assert json.loads((run / "summary.json").read_text())["step"] == 6
    more = ["train", "lm", "--resume", str(run), "--sample-length", "0", "--device", "cpu"]
    assert main([*more, "--steps", "9"]) == 0  # trains on to step 9
    assert json.loads((run / "summary.json").read_text())["step"] == 9
    assert json.loads((run / "config.json").read_text())["train"]["steps"] == 9
    capsys.readouterr()
    assert main([*more, "--hidden", "64"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("only its budget (steps, minutes, epochs) can change, not "
                        "model.encoder.hidden") and "\n" not in err
    assert main([*more, "--config", str(run / "config.json")]) == 2
    with pytest.raises(ConfigError, match="not data.chunk_len"):
        rnnkit.fit("lm", resume=run, data={"chunk_len": 4})
    assert json.loads((run / "summary.json").read_text())["step"] == 9  # nothing trained


def test_parsers_do_not_share_namespace_defaults():
    a = _parse("train", "lm")
    assert isinstance(a, argparse.Namespace) and not any(k.startswith("cfg:") for k in vars(a))
