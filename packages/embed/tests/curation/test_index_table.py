"""The clip index on LanceDB: build state, refusals, incremental plans, search, ANN recall."""

from __future__ import annotations

import numpy as np
import pytest
from cosmos_embed.config import IndexConfig
from cosmos_embed.curation.build import plan_build
from cosmos_embed.curation.catalogue import CatalogueEntry
from cosmos_embed.curation.index_table import (
    AUTO_ANN,
    COMPLETE,
    ClipIndex,
    ClipIndexError,
    IncompleteIndexError,
    IndexMismatchError,
    IndexState,
    NotAnIndexError,
    check_not_run_folder,
    metadata_columns,
)

pytest.importorskip("lancedb")

FINGERPRINT = {
    "model": "abc",
    "preprocessing": {"num_video_frames": 8, "resolution": [64, 64], "decode_backend": "pyav"},
}


def state(dim: int = 16, **changes) -> IndexState:
    return IndexState(
        dim=dim, fingerprint=changes.pop("fingerprint", FINGERPRINT), columns={"split": "string"}, **changes
    )


def records(n: int, start: int = 0) -> list[dict]:
    return [
        {
            "id": f"c{i}",
            "path": f"/v/{i}.mp4",
            "caption": f"clip {i}",
            "label": i % 3,
            "file_size": 10,
            "file_mtime_ns": 1,
            "metadata": {"split": "test" if i % 2 else "train", "extra": [1, 2]},
        }
        for i in range(start, start + n)
    ]


def vectors(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def built(uri: str, n: int = 50, dim: int = 16) -> tuple[ClipIndex, np.ndarray]:
    index, interrupted = ClipIndex.for_build(uri, "index.uri", state(dim))
    assert not interrupted
    x = vectors(n, dim)
    index.add(index.rows(records(n), x))
    index.mark_complete()
    return index, x


def test_exact_search_finds_each_clip_first_and_filters_on_metadata(tmp_path):
    index, x = built(str(tmp_path / "idx"))
    hits = ClipIndex.open(str(tmp_path / "idx"), "inference.index").search(x[:5], 3, None, IndexConfig(), "q")
    assert [h[0]["id"] for h in hits] == [f"c{i}" for i in range(5)]
    assert hits[0][0]["score"] == pytest.approx(1.0, abs=1e-5)
    assert hits[0][0]["score"] >= hits[0][1]["score"] >= hits[0][2]["score"]
    filtered = index.search(x[:2], 5, "split = 'test'", IndexConfig(), "q")
    assert all(h["split"] == "test" for row in filtered for h in row)
    assert filtered[1][0]["id"] == "c1"
    assert index.count("split = 'test'") == 25


def test_a_half_written_build_is_refused_until_a_rerun_completes_it(tmp_path):
    uri = str(tmp_path / "idx")
    index, _ = ClipIndex.for_build(uri, "index.uri", state())
    index.add(index.rows(records(10), vectors(10)))  # killed here: never marked complete
    with pytest.raises(IncompleteIndexError, match="did not finish.*rerun"):
        ClipIndex.open(uri, "inference.index")
    again, interrupted = ClipIndex.for_build(uri, "index.uri", state())
    assert interrupted and set(again.signatures()) == {f"c{i}" for i in range(10)}
    again.mark_complete()
    assert ClipIndex.open(uri, "inference.index").state.state == COMPLETE


def test_refuses_other_folders_dimensions_checkpoints_and_preprocessing(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"x")
    with pytest.raises(NotAnIndexError, match="not a cosmos-run index"):
        ClipIndex.for_build(str(tmp_path / "photos"), "index.uri", state())
    with pytest.raises(NotAnIndexError, match="not a cosmos-run index"):
        ClipIndex.open(str(tmp_path / "photos"), "inference.index")
    with pytest.raises(NotAnIndexError, match="no index there"):
        ClipIndex.open(str(tmp_path / "nothing"), "inference.index")
    uri = str(tmp_path / "idx")
    built(uri)
    with pytest.raises(IndexMismatchError, match="16-dimensional.*32-dimensional"):
        ClipIndex.for_build(uri, "index.uri", state(32))
    with pytest.raises(IndexMismatchError, match="another checkpoint"):
        ClipIndex.for_build(uri, "index.uri", state(fingerprint={**FINGERPRINT, "model": "zzz"}))
    other = {**FINGERPRINT, "preprocessing": {**FINGERPRINT["preprocessing"], "num_video_frames": 16}}
    with pytest.raises(IndexMismatchError, match="num_video_frames: index 8 vs 16"):
        ClipIndex.for_build(uri, "index.uri", state(fingerprint=other))
    with pytest.raises(IndexMismatchError, match="16-dimensional"):
        ClipIndex.open(uri, "q").search(vectors(1, 8), 3, None, IndexConfig(), "inference.index")


def entry(i: int, size: int = 10, mtime: int = 1) -> CatalogueEntry:
    return CatalogueEntry(i, f"c{i}", f"/v/{i}.mp4", None, None, None, size, mtime, {})


def test_plan_embeds_new_and_changed_clips_only():
    existing = {"c0": (10, 1), "c1": (10, 1), "c2": (10, 1), "gone": (10, 1)}
    plan = plan_build([entry(0), entry(1, size=11), entry(2, mtime=2), entry(3)], existing)
    assert [e.id for e in plan.todo] == ["c1", "c2", "c3"]
    assert plan.changed == ["c1", "c2"] and plan.vanished == ["gone"] and plan.unchanged == 1


def test_metadata_columns_take_scalar_fields_with_one_type():
    columns = metadata_columns(
        [{"split": "a", "n": 1, "x": 1, "ok": True, "nested": [1], "path": "p", "bad name": 1}, {"x": 2.5, "n": "3"}]
    )
    assert columns == {"n": "string", "ok": "bool", "split": "string", "x": "float64"}


def test_ivf_flat_index_keeps_recall_and_appends_stay_searchable(tmp_path):
    index, x = built(str(tmp_path / "idx"), n=3000, dim=16)
    assert index.ensure_ann(IndexConfig(ann="ivf_flat", num_partitions=16)) == "ivf_flat" and index.has_ann()
    queries = x[:50]
    exact = np.argsort(-(queries @ x.T), axis=1)[:, :10]
    hits = index.search(queries, 10, None, IndexConfig(nprobes=16), "q")
    found = [[int(h["id"][1:]) for h in row] for row in hits]
    recall = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)])
    assert recall >= 0.95
    index.add(index.rows(records(1, start=3000), vectors(1, seed=9)))
    assert index.search(vectors(1, seed=9), 1, None, IndexConfig(), "q")[0][0]["id"] == "c3000"
    assert index.ensure_ann(IndexConfig(ann="auto", ann_min_rows=10**6)) is None  # too small: exact search


def test_auto_builds_its_documented_kind_above_the_row_threshold_and_drop_returns_to_exact(tmp_path):
    index, x = built(str(tmp_path / "idx"), n=3000, dim=16)
    assert index.ann_kind() is None
    assert index.ensure_ann(IndexConfig(ann="auto", ann_min_rows=1000, num_partitions=16)) == AUTO_ANN
    assert index.ann_kind() == AUTO_ANN and "partitions 16" in index.ann_stats()
    hits = index.search(x[:5], 3, None, IndexConfig(nprobes=16, refine_factor=50), "q")
    assert [row[0]["id"] for row in hits] == [f"c{i}" for i in range(5)]  # self-hits
    index.drop_ann()
    assert index.ann_kind() is None and not index.has_ann()
    assert index.search(x[:1], 1, None, IndexConfig(), "q")[0][0]["id"] == "c0"


def test_reruns_keep_the_ann_index_with_new_rows_in_it_and_retrain_it_when_asked_or_outgrown(tmp_path):
    uri = str(tmp_path / "idx")
    index, _ = built(uri, n=300, dim=16)
    auto = IndexConfig(ann="auto", ann_min_rows=200)
    assert index.refresh_ann(auto) == "ivf_flat (partitions 7)"
    assert ClipIndex.open(uri, "q", require_complete=False).state.ann == {"kind": "ivf_flat", "num_partitions": 7,
                                                                          "rows": 300}  # fmt: skip

    def grow(start: int, n: int) -> ClipIndex:  # a rerun that embedded n more clips
        again, _ = ClipIndex.for_build(uri, "index.uri", state())
        again.add(again.rows(records(n, start=start), vectors(n, seed=start)))
        again.compact(cleanup=False)
        return again

    index = grow(300, 300)  # 600 rows: under 4x the 300 trained on
    assert index.refresh_ann(auto) == "ivf_flat (kept)"
    stats = index.table().index_stats(index.table().list_indices()[0].name)
    assert (stats.num_indexed_rows, stats.num_unindexed_rows) == (600, 0)  # the new rows are in the index
    assert index.search(vectors(1, seed=300)[:1], 1, None, IndexConfig(nprobes=7), "q")[0][0]["id"] == "c300"

    assert index.refresh_ann(IndexConfig(ann="ivf_flat", num_partitions=8)).endswith(
        "rebuilt: index.num_partitions=8 (was 7)"
    )
    assert index.refresh_ann(IndexConfig(ann="ivf_pq", num_partitions=8)) == (
        "ivf_pq (partitions 8, sub_vectors 2), rebuilt: index.ann=ivf_pq (was ivf_flat)"
    )
    assert index.ann_kind() == "ivf_pq"
    index = grow(600, 1800)  # 2,400 rows: 4x the 600 the IVF-PQ index was trained on
    assert index.refresh_ann(auto) == (
        "ivf_pq (partitions 49, sub_vectors 2), rebuilt: the table grew from 600 to 2400 rows"
    )
    assert index.state.ann["rows"] == 2400
    assert index.refresh_ann(IndexConfig(ann="none")) == "none (exact search; the ivf_pq index was dropped)"
    assert index.ann_kind() is None and index.state.ann == {}
    assert index.refresh_ann(IndexConfig(ann="auto", ann_min_rows=10**6)) == "none (exact search)"


def test_an_index_location_that_is_or_holds_the_run_folder_is_refused_by_name(tmp_path):
    run = tmp_path / "results" / "index"
    for uri in (run, tmp_path / "results", f"file://{run}"):
        with pytest.raises(ClipIndexError, match="this run's own output folder") as caught:
            check_not_run_folder(str(uri), run, "index.uri")
        assert "clip_index" in str(caught.value)
    check_not_run_folder(str(tmp_path / "results" / "clips"), run, "index.uri")
    check_not_run_folder(str(run / "db"), run, "index.uri")  # a folder inside the run folder is its own
    check_not_run_folder("s3://bucket/index", run, "index.uri")
