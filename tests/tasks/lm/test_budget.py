"""The language model's dropout follows the epochs its budget holds, unless it is given."""

import json

import pytest

import rnnkit.tasks.registry as tasks
from rnnkit.tasks.lm.budget import HIGH, HIGH_EPOCHS, LOW, LOW_EPOCHS, dropout_for_epochs

TEXT = "the quick brown fox jumps over the lazy dog.\n" * 60


def test_the_mapping_passes_through_both_measured_budgets_and_is_monotone():
    assert dropout_for_epochs(0.5) == LOW and dropout_for_epochs(LOW_EPOCHS) == LOW
    assert dropout_for_epochs(HIGH_EPOCHS) == pytest.approx(HIGH)
    values = [dropout_for_epochs(e) for e in (5, 10, 15, 20, 30, 35, 50, 80, 1e4)]
    for a, b in zip(values, values[1:]):
        assert b[0] >= a[0] and b[1] >= a[1]
    assert values[-1] == dropout_for_epochs(1e6)  # capped
    assert max(values[-1]) < 0.5


def _train(tmp_path, name, **model):
    data = tmp_path / "t.txt"
    data.write_text(TEXT)
    run = tasks.train("lm", out=tmp_path / name, device="cpu",
                      data={"data": str(data), "batch_size": 4, "chunk_len": 16},
                      model={"embed": 8, "encoder": {"hidden": 16, "layers": 2}} | model,
                      train={"epochs": 40, "minutes": None, "eval_every": 1000})
    return json.loads((run / "summary.json").read_text()), tasks.load(run, "last")


def test_a_long_budget_raises_both_dropouts(tmp_path):
    summary, loaded = _train(tmp_path, "auto")
    want = dropout_for_epochs(40)
    assert want[0] > HIGH[0]  # past the 35 measured epochs
    assert summary["plan"] == {"rnn_dropout": want[0], "out_dropout": want[1],
                               "expected_epochs": 40.0}


def test_given_dropouts_are_kept(tmp_path):
    summary, _ = _train(tmp_path, "given", out_dropout=0.2,
                        encoder={"hidden": 16, "layers": 2, "rnn_dropout": 0.05})
    assert summary["plan"] == {}


def test_the_plan_sets_the_model_it_trains():
    import torch

    from rnnkit.tasks.common.encoder import EncoderConfig
    from rnnkit.tasks.lm import LanguageModel, LMConfig, LMTask

    model = LanguageModel(LMConfig(vocab_size=5, embed=4,
                                   encoder=EncoderConfig(hidden=8, layers=2, rnn_dropout=None)))
    assert model.out_dropout.p == LOW[1] and model.encoder.dropout == LOW[0]
    ids = torch.arange(200) % 5
    task = LMTask(ids, ids, 2, 8, budget_dropout=(True, False))
    plan = task.plan_for_budget(model, 20.0)
    assert plan == {"rnn_dropout": dropout_for_epochs(20)[0], "expected_epochs": 20.0}
    assert model.encoder.dropout == dropout_for_epochs(20)[0] and model.out_dropout.p == LOW[1]
