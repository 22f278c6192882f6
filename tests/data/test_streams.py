import pytest
import torch

from rnnkit.data import DataError
from rnnkit.data.streams import StreamBatcher, eval_streams


def test_rows_continue_their_streams():
    ids = torch.arange(1000)
    b = StreamBatcher(ids, batch_size=4, chunk_len=10)
    L = 1000 // 4
    first, second = next(b), next(b)
    assert first.reset and not second.reset
    for row in range(4):
        assert first.x[row, 0].item() == row * L  # row b starts at its own stream
        assert second.x[row, 0].item() == first.x[row, -1].item() + 1  # and continues it
        assert torch.equal(first.y[row], first.x[row] + 1)  # targets are the next tokens


def test_epoch_covers_every_target_once_and_resets():
    ids = torch.arange(103)
    b = StreamBatcher(ids, batch_size=2, chunk_len=7)
    seen = []
    ch = next(b)
    while True:
        seen.append(ch.y[:, ch.loss_from :])
        ch = next(b)
        if ch.reset:
            break
    assert ch.epoch == 1
    targets = torch.cat(seen, 1)
    L = 103 // 2
    assert torch.equal(targets[0], torch.arange(1, L))
    assert torch.equal(targets[1], torch.arange(L + 1, 2 * L))


def test_overlapping_windows_score_each_target_once():
    """BPTT(k1=3, k2=8): windows overlap, loss_from skips what earlier windows scored."""
    ids = torch.arange(200)
    b = StreamBatcher(ids, batch_size=1, chunk_len=8, stride=3)
    scored, prev_start = [], None
    for _ in range(20):
        ch = next(b)
        if ch.reset and scored:
            break
        assert ch.x.shape[1] <= 8 and ch.carry_at <= 3
        if prev_start is not None:
            assert ch.x[0, 0].item() == prev_start + 3  # the next window starts k1 later
        prev_start = ch.x[0, 0].item()
        scored += ch.y[0, ch.loss_from :].tolist()
    assert scored == list(range(1, len(scored) + 1))


def test_random_length_rescales_lr_and_is_seeded():
    ids = torch.arange(100000)
    a = [next(StreamBatcher(ids, 4, 70, random_len=True, seed=3)) for _ in range(1)]
    b1 = StreamBatcher(ids, 4, 70, random_len=True, seed=3)
    b2 = StreamBatcher(ids, 4, 70, random_len=True, seed=3)
    lens1 = [next(b1).x.shape[1] for _ in range(50)]
    lens2 = [next(b2).x.shape[1] for _ in range(50)]
    assert lens1 == lens2 and len(set(lens1)) > 3 and min(lens1) >= 5
    ch = a[0]
    assert ch.lr_scale == pytest.approx(ch.x.shape[1] / 70)


def test_state_dict_resumes_position():
    ids = torch.arange(5000)
    b = StreamBatcher(ids, 3, 11, random_len=True, seed=1)
    for _ in range(7):
        next(b)
    saved = b.state_dict()
    expect = [next(b).x for _ in range(5)]
    c = StreamBatcher(ids, 3, 11, random_len=True, seed=1)
    c.load_state_dict(saved)
    for e in expect:
        assert torch.equal(next(c).x, e)


def test_text_shorter_than_one_chunk_is_a_clear_error():
    with pytest.raises(DataError, match="too short"):
        StreamBatcher(torch.arange(50), batch_size=4, chunk_len=20)


@pytest.mark.parametrize("n,B", [(2, 4), (10, 3), (101, 8), (64, 64)])
def test_eval_streams_cover_every_target_once(n, B):
    ids = torch.arange(n)
    x, y, tx, ty = eval_streams(ids, B)
    assert torch.equal(y, x + 1) and torch.equal(ty, tx + 1)
    targets = torch.cat([y.flatten(), ty.flatten()]).sort().values
    assert torch.equal(targets, torch.arange(1, n))
    if tx.numel():
        assert tx[0, 0].item() == x[-1, -1].item() + 1  # the tail continues the last stream
