"""The trainer's estimate of the epochs a budget holds, and the task's plan made from it once,
saved in checkpoints and applied again on a resume."""

from types import SimpleNamespace

import pytest
import torch

from rnnkit.train.loop import TrainConfig, Trainer
from rnnkit.train.plan import AFTER, MIN_STEPS, SKIP_STEPS, Planner
from rnnkit.train.task import StepOutput, Task


class Planned(Task):
    """A regression task whose 'regularisation' (a scale on the loss) follows the budget."""

    def __init__(self, epochs_per_step=0.1):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(32, 3, generator=g)
        self.y = self.x @ torch.tensor([1.0, -1.0, 2.0])
        self.calls, self.per_step = 0, epochs_per_step
        self.asked, self.applied = [], []
        self.scale = 1.0

    def train_step(self, model):
        self.calls += 1
        loss = self.scale * ((model(self.x).squeeze(1) - self.y) ** 2).mean()
        return StepOutput(loss, 32, epoch=self.calls * self.per_step)

    def evaluate(self, model, max_items=None):
        return {"loss": ((model(self.x).squeeze(1) - self.y) ** 2).mean().item()}

    def plan_for_budget(self, model, epochs):
        self.asked.append((self.calls, epochs))
        self.scale = 0.5 if epochs > 10 else 1.0
        return {"scale": self.scale, "at_step": self.calls}

    def apply_plan(self, model, plan):
        self.applied.append(dict(plan))
        self.scale = plan["scale"]

    def state_dict(self):
        return {"calls": self.calls}

    def load_state_dict(self, d):
        self.calls = d["calls"]


def _fake(step, elapsed, epoch, **budget):
    return SimpleNamespace(cfg=TrainConfig(**budget), step=step, elapsed=elapsed, epoch=epoch)


def test_an_epoch_budget_is_known_before_the_first_step():
    assert Planner().expected_epochs(_fake(0, 0.0, 0.0, epochs=12)) == 12.0


def test_a_step_budget_scales_the_epochs_of_the_first_steps():
    p = Planner()
    assert p.expected_epochs(_fake(0, 0.0, 0.0, steps=500)) is None
    assert p.expected_epochs(_fake(1, 0.1, 0.02, steps=500)) is None  # one window may be short
    assert p.expected_epochs(_fake(SKIP_STEPS, 0.5, 0.1, steps=500)) == pytest.approx(10.0)
    # with an epoch budget as well, whichever ends first
    assert p.expected_epochs(_fake(SKIP_STEPS, 0.5, 0.1, steps=500, epochs=4)) == \
        pytest.approx(4.0)
    # a run of few steps plans before its last one
    assert Planner().expected_epochs(_fake(1, 0.1, 0.02, steps=2)) == pytest.approx(0.04)


def test_a_wall_clock_budget_leaves_the_first_steps_out():
    """A slow first step (a kernel build) must not make the run look short: the rate is
    measured from step SKIP_STEPS on, once AFTER of the budget has been trained."""
    p = Planner()
    budget = 600.0  # 10 minutes
    assert p.expected_epochs(_fake(0, 0.0, 0.0, minutes=10)) is None  # before the first step
    # the first SKIP_STEPS steps took 30 s (a compile) and covered 0.05 epochs
    assert p.expected_epochs(_fake(SKIP_STEPS, 30.0, 0.05, minutes=10)) is None
    step = SKIP_STEPS + MIN_STEPS
    early = 30.0 + AFTER * budget / 2  # not yet AFTER of the budget since the mark
    assert p.expected_epochs(_fake(step, early, 0.05 + 0.01 * (early - 30), minutes=10)) is None
    t = 30.0 + AFTER * budget  # then 0.01 epochs a second
    e = 0.05 + 0.01 * (t - 30)
    got = p.expected_epochs(_fake(step, t, e, minutes=10))
    assert got == pytest.approx(e + 0.01 * (budget - t))  # not e / t * budget
    assert got == pytest.approx(0.05 + 0.01 * (budget - 30))


def test_a_wall_clock_cap_on_a_short_epoch_budget_does_not_delay_the_plan():
    """--epochs 2 --minutes 600 at 0.01 epochs a second ends after 200 s: the plan comes after
    3% of those 200 s, not of the 600 minutes (when the run would long be over)."""
    p = Planner()
    for step in range(0, 2001):
        got = p.expected_epochs(_fake(step, step * 0.1, step * 0.001, epochs=2, minutes=600))
        if got is not None:
            break
    assert got == pytest.approx(2.0)
    assert step * 0.1 <= 20.0  # within the first tenth of the run's 200 s


def test_a_resumed_run_measures_its_own_start():
    """Resumed at step 100 before a plan was made: the new process's first steps (kernels
    built again) are left out as a fresh run's are."""
    p = Planner()
    assert p.expected_epochs(_fake(100, 900.0, 0.1, minutes=60)) is None  # before its first step
    # which took 30 s
    assert p.expected_epochs(_fake(101, 930.0, 0.101, minutes=60)) is None
    assert p.mark is None  # a fresh run's rule (step >= SKIP_STEPS) would measure it
    for step in range(102, 100 + SKIP_STEPS + 1):
        assert p.expected_epochs(_fake(step, 930.0 + step - 101, step * 0.001,
                                       minutes=60)) is None
    assert p.mark == (100 + SKIP_STEPS, 930.0 + SKIP_STEPS - 1, pytest.approx(0.105))


def test_the_plan_is_made_once_saved_and_applied_again_on_resume(tmp_path):
    torch.manual_seed(0)
    a = torch.nn.Linear(3, 1)
    b = torch.nn.Linear(3, 1)
    b.load_state_dict(a.state_dict())
    rows = []
    task = Planned(epochs_per_step=0.05)  # 60 steps: 3 epochs
    whole = Trainer(a, task, TrainConfig(steps=60, lr=0.02, schedule="constant"),
                    run_dir=tmp_path / "a", callbacks=[lambda e, r: rows.append((e, r))])
    summary = whole.fit()
    assert task.asked == [(SKIP_STEPS, pytest.approx(3.0))]  # asked once, after 5 steps
    assert summary["plan"] == {"scale": 1.0, "at_step": SKIP_STEPS}
    planned = [r for e, r in rows if e == "plan"]
    assert len(planned) == 1 and planned[0]["epochs"] == pytest.approx(3.0)

    first = Trainer(b, Planned(0.05), TrainConfig(steps=30, lr=0.02, schedule="constant"),
                    run_dir=tmp_path / "b")
    first.fit()
    resumed_task = Planned(0.05)
    resumed_task.scale = 7.0  # a resumed task starts from its own default...
    c = torch.nn.Linear(3, 1)
    second = Trainer(c, resumed_task, TrainConfig(steps=60, lr=0.02, schedule="constant"),
                     run_dir=tmp_path / "b")
    second.resume(tmp_path / "b" / "checkpoints" / "last.safetensors")
    # ...and the checkpoint's plan is applied again instead of a new one being made
    assert resumed_task.applied == [{"scale": 1.0, "at_step": SKIP_STEPS}]
    assert resumed_task.scale == 1.0
    second.fit()
    assert resumed_task.asked == []
    torch.testing.assert_close(c.weight, a.weight)  # the same as never stopping


def test_a_long_budget_gets_the_other_plan():
    task = Planned(epochs_per_step=0.5)  # 40 steps: 20 epochs
    summary = Trainer(torch.nn.Linear(3, 1), task, TrainConfig(steps=40, lr=0.02)).fit()
    assert summary["plan"]["scale"] == 0.5 and task.scale == 0.5


def test_a_task_without_choices_plans_nothing():
    class Plain(Planned):
        plan_for_budget = Task.plan_for_budget

    summary = Trainer(torch.nn.Linear(3, 1), Plain(), TrainConfig(steps=5)).fit()
    assert summary["plan"] == {}


def test_a_rollback_to_a_checkpoint_from_before_the_plan_keeps_the_plan():
    """A rollback (on_nonfinite="rollback") restores a checkpoint saved before the plan: the
    run keeps the plan it made (its model already trains with it) rather than planning again;
    a new process resuming that checkpoint plans afresh."""
    from rnnkit.train import state

    task = Planned(epochs_per_step=0.5)  # 40 steps: 20 epochs, scale 0.5
    trainer = Trainer(torch.nn.Linear(3, 1), task, TrainConfig(steps=40, lr=0.02))
    early = state.payload(trainer)  # step 0: no plan yet
    trainer.fit()
    assert trainer.plan["scale"] == 0.5
    state.restore(trainer, early)
    assert trainer.plan["scale"] == 0.5 and task.scale == 0.5 and task.asked == [
        (SKIP_STEPS, pytest.approx(20.0))]
    fresh = Trainer(torch.nn.Linear(3, 1), Planned(0.5), TrainConfig(steps=40, lr=0.02))
    fresh.planner.first = 3  # a planner that had seen steps: a resume starts it anew
    state.restore(fresh, early)
    assert fresh.plan is None and fresh.planner.first is None


def test_a_resume_under_a_new_budget_says_the_old_plan_is_kept(caplog):
    from rnnkit.train import state

    trainer = Trainer(torch.nn.Linear(3, 1), Planned(0.5), TrainConfig(steps=40, lr=0.02))
    trainer.fit()
    saved = state.payload(trainer)
    for steps, warned in ((40, False), (400, True)):
        caplog.clear()
        other = Trainer(torch.nn.Linear(3, 1), Planned(0.5), TrainConfig(steps=steps, lr=0.02))
        with caplog.at_level("WARNING", logger="rnnkit.train.state"):
            state.restore(other, saved)
        assert other.plan == trainer.plan
        assert ("plan made for the old one is kept" in caplog.text) is warned
