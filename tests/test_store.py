"""Reading the results store: the frame the report uses, read in parallel parts, equals the one
read whole; lines are cut at their artifacts and config correctly, or parsed whole when a value
looks like the cut; artifacts parse back to what was written."""

import json

import numpy as np
import pandas as pd

from benchmark.store import ResultsStore, artifact_matrix, artifact_values, split_record
from benchmark.synthetic import leaderboard_records, trial_record


def test_a_frame_read_in_parts_equals_the_frame_read_whole(tmp_path):
    store = ResultsStore(tmp_path)
    records = leaderboard_records(5, methods=("lfl", "gail", "airl"))
    store.append(records)
    # a later record of a trial from the first half supersedes it at its first position
    rerun = {**records[3], "metrics": {**records[3]["metrics"], "score": 123.0}}
    store.append([rerun])
    with open(store.path, "ab") as handle:
        handle.write(b'{"artifacts": {"reward": [[1.0]]}, "config": {"seed"')  # a killed writer's partial line
    whole = store.frame(artifacts=True)
    for workers in (2, 3, 7):
        pd.testing.assert_frame_equal(store.frame(artifacts=True, workers=workers), whole)
    assert len(whole) == len(records) and whole.trial_id.tolist() == [r["trial_id"] for r in records]
    assert whole.score.iloc[3] == 123.0
    assert whole.config.iloc[0] == json.dumps(records[0]["config"], sort_keys=True)
    assert json.loads(whole.artifacts.iloc[0]) == records[0]["artifacts"]


def test_lines_whose_values_look_like_the_cut_are_read_whole(tmp_path):
    store = ResultsStore(tmp_path)
    tricky = trial_record("t", metrics={"score": 1.0, "normalized_score": float("nan")},
                          # a nested "created_at" key and a string that looks like the cut
                          config={"a": {"x": 1}, "created_at": 5, "note": '}, "created_at": '},
                          artifacts={"curve": [1.0, 2.0], "reward": [[0.5, -1.0], [2.0, 3.0]]}, created_at="now")
    store.append([tricky, trial_record("plain", metrics={"score": 2.0})])
    line = store.path.read_bytes().splitlines(keepends=True)[0]
    record, raw = split_record(line)
    assert json.loads(raw["config"]) == tricky["config"] and json.loads(raw["artifacts"]) == tricky["artifacts"]
    assert record["metrics"] == {"score": 1.0, "normalized_score": None}  # NaN is written as null
    frame = store.frame(artifacts=True)
    assert json.loads(frame.config.iloc[0]) == tricky["config"] and frame.config.iloc[1] == "{}"
    assert frame.artifacts.iloc[1] is None and np.isnan(frame.normalized_score.iloc[0])
    assert [r.get("config") for r in store.records(artifacts=False)] == [tricky["config"], {}]


def test_artifacts_parse_back_to_what_was_written(tmp_path):
    rng = np.random.default_rng(0)
    written = [{"learner_curve": rng.normal(size=k).tolist(), "reward": rng.normal(size=(3, 2)).tolist()}
               for k in (4, 2, 5)]
    texts = [json.dumps(a, sort_keys=True).encode() for a in written] + [None, b'{"reward": [[1.0]]}']
    assert artifact_values(texts, "reward") == [a["reward"] for a in written] + [None, [[1.0]]]
    assert artifact_values(texts, "learner_curve") == [a["learner_curve"] for a in written] + [None, None]
    matrix = artifact_matrix(texts, "learner_curve")
    assert matrix.shape == (5, 5)
    for row, artifact in zip(matrix, written):
        k = len(artifact["learner_curve"])
        assert row[:k].tolist() == artifact["learner_curve"] and np.isnan(row[k:]).all()
    assert np.isnan(matrix[3:]).all()


def test_track_and_source_round_trip_and_are_optional(tmp_path):
    import pytest

    from benchmark.store import StoreWarning, record_problem

    store = ResultsStore(tmp_path)
    new = trial_record("new", track="mujoco", source="expert", metrics={"score": 1.0},
                       artifacts={"learner_curve": [0.0, 1.0]}, config={"seed": 0}, created_at="now")
    old = trial_record("old", metrics={"score": 2.0})
    store.append([new, old])
    line = store.path.read_bytes().splitlines()[0]
    record, raw = split_record(line)
    assert (record["track"], record["source"]) == ("mujoco", "expert") and raw["config"] == b'{"seed": 0}'
    assert [(r.get("track"), r.get("source")) for r in store.records()] == [("mujoco", "expert"), (None, None)]
    for workers in (1, 2):
        frame = store.frame(workers=workers)
        assert frame.track.tolist()[0] == "mujoco" and frame.source.tolist()[0] == "expert"
        assert frame.track.isna().tolist() == [False, True] and frame.source.isna().tolist() == [False, True]
    only_old = ResultsStore(tmp_path / "old")
    only_old.append([old])
    frame = only_old.frame()
    assert frame.source.isna().all() and not pd.api.types.is_numeric_dtype(frame.source)  # never a metric
    assert record_problem({**old, "source": 1}) == "'source' is int, not str"
    with open(store.path, "ab") as handle:
        handle.write(json.dumps({**old, "trial_id": "bad", "track": 3}, sort_keys=True).encode() + b"\n")
    with pytest.warns(StoreWarning, match="'track' is int"):
        assert len(store.frame()) == 2


def test_a_whole_last_record_without_its_newline_is_kept_and_its_line_completed(tmp_path):
    import pytest

    from benchmark.store import StoreWarning, encode

    store = ResultsStore(tmp_path)
    first, second, third = (trial_record(name, metrics={"score": float(i)}) for i, name in enumerate("abc"))
    store.path.write_bytes(encode(first) + encode(second)[:-1])  # the last newline lost (a crash after the write)
    assert [r["trial_id"] for r in store.records()] == ["a", "b"]
    assert store.frame().trial_id.tolist() == ["a", "b"] and store.finished_ids() == {"a", "b"}
    store.append([third])  # completes the line, keeps the record
    assert store.path.read_bytes() == encode(first) + encode(second) + encode(third)
    # a killed writer's partial line: skipped with a warning naming its offset, then cut by the next append
    offset = len(store.path.read_bytes())
    with open(store.path, "ab") as handle:
        handle.write(encode(first)[:40])
    with pytest.warns(StoreWarning, match=f"partial last line at byte offset {offset}"):
        assert [r["trial_id"] for r in ResultsStore(tmp_path).records()] == ["a", "b", "c"]
    with pytest.warns(StoreWarning, match=f"cut a partial last line at byte offset {offset}"):
        store.append([trial_record("d", metrics={"score": 4.0})])
    assert [r["trial_id"] for r in store.records()] == ["a", "b", "c", "d"]
