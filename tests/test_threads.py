"""``train --threads``: the trial's schedule and verdict, and real Paddle runs that use it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchcolor.train.threads import ThreadTrial, candidate_counts, parse_threads
from conftest import real_pairs, run_cli


def test_parse_threads_takes_auto_counts_and_none_and_refuses_the_rest():
    assert parse_threads(None) is None
    assert parse_threads("auto") == "auto"
    assert parse_threads("2") == 2 and parse_threads(3) == 3
    for bad in ("0", "-1", "two", "1.5"):
        with pytest.raises(ValueError, match="--threads"):
            parse_threads(bad)


def test_candidates_cover_one_the_powers_of_two_and_the_core_count():
    assert candidate_counts(1) == [1]
    assert candidate_counts(2) == [1, 2]
    assert candidate_counts(6) == [1, 2, 4, 6]
    assert candidate_counts(8) == [1, 2, 4, 8]


def test_trial_runs_each_count_in_a_block_drops_the_settling_step_and_keeps_the_fastest():
    trial = ThreadTrial([1, 2, 4], rounds=2)
    asked, settling = [], 9.0
    seconds = {1: 1.0, 2: 0.6, 4: 1.5}
    while (count := trial.next_count()) is not None:
        asked.append(count)
        # the first step at each count is far off its steady cost: it must not count
        first = len(asked) == 1 or asked[-2] != count
        trial.record(count, settling if first else seconds[count])
    assert asked == [1, 1, 1, 2, 2, 2, 4, 4, 4]
    assert trial.steps == len(asked) and trial.done
    assert trial.best() == 2
    assert trial.times == {1: [1.0, 1.0], 2: [0.6, 0.6], 4: [1.5, 1.5]}
    assert "threads: 2" in trial.summary()


def test_a_fast_first_step_after_the_switch_does_not_win():
    """As measured with --up resize on 2 cores: the first step at two threads was the fastest of
    all, every later one twice one thread's."""
    trial = ThreadTrial([1, 2], rounds=2)
    times = iter([11.0, 9.7, 8.9, 6.9, 18.9, 18.2])
    while (count := trial.next_count()) is not None:
        trial.record(count, next(times))
    assert trial.best() == 1


def test_one_core_means_no_trial():
    trial = ThreadTrial(candidate_counts(1))
    assert trial.done and trial.next_count() is None and trial.best() == 1


paddle = pytest.importorskip("paddle", reason="needs the train extra")


@pytest.fixture(scope="module")
def pairs(tmp_path_factory) -> Path:
    return real_pairs(tmp_path_factory.mktemp("data") / "pairs", 12)


@pytest.fixture(autouse=True)
def threads_put_back():
    """The count a run sets stays for the process: put back the start-up one (OMP_NUM_THREADS,
    else Paddle's flag), so the Paddle tests after these run as they would alone."""
    import os

    yield
    from batchcolor.train.threads import set_paddle_threads

    start = os.environ.get("OMP_NUM_THREADS") or paddle.get_flags(["FLAGS_paddle_num_threads"])["FLAGS_paddle_num_threads"]
    set_paddle_threads(int(start))


@pytest.mark.train
def test_auto_threads_times_the_first_steps_and_says_what_it_kept(pairs, tmp_path, monkeypatch):
    from batchcolor.train import trainer as trainer_mod
    from batchcolor.train.trainer import TrainConfig, train

    set_to: list[int] = []
    real_set = trainer_mod.set_paddle_threads

    def spy(count: int) -> None:
        set_to.append(count)
        real_set(count)

    monkeypatch.setattr(trainer_mod, "set_paddle_threads", spy)
    monkeypatch.setattr(trainer_mod, "candidate_counts", lambda: [1, 2])
    logged: list[str] = []
    config = TrainConfig(data=(str(pairs),), run_dir=str(tmp_path / "run"), size=64, width=8, depth=3, epochs=None,
                         max_steps=8, batch_size=4, val_last=2, log_every=1, preview_count=1, val_max=2, threads="auto")
    state = train(config, log=logged.append)
    assert state.step == 8
    verdict = [m for m in logged if m.startswith("threads: ")]
    assert len(verdict) == 1, logged
    kept = int(verdict[0].split()[1])
    # three steps at 1 (one settling), three at 2, then the kept count for the rest of the run
    assert set_to == [1, 1, 1, 2, 2, 2, kept] and kept in (1, 2)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["threads"] == "auto"


@pytest.mark.train
def test_cli_sets_a_fixed_count_and_refuses_a_bad_one(pairs, tmp_path):
    ok = run_cli("train", str(pairs), "-o", str(tmp_path / "one"), "--size", "64", "--width", "8", "--depth", "3",
                 "--batch-size", "4", "--max-steps", "1", "--val-last", "2", "--threads", "1")
    assert ok.returncode == 0, ok.stderr
    assert json.loads((tmp_path / "one" / "config.json").read_text())["threads"] == 1
    resumed = run_cli("train", str(pairs), "-o", str(tmp_path / "one"), "--resume", "--max-steps", "2", "--threads", "auto")
    assert resumed.returncode == 0, resumed.stderr
    saved = json.loads((tmp_path / "one" / "config.json").read_text())
    assert saved["threads"] == "auto" and saved["max_steps"] == 2 and saved["size"] == 64  # the recipe kept
    bad = run_cli("train", str(pairs), "-o", str(tmp_path / "bad"), "--max-steps", "1", "--threads", "none")
    assert bad.returncode == 2 and "--threads" in bad.stderr
    assert not (tmp_path / "bad").exists()
