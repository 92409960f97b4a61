"""Text filtering: positive/negative thresholds and the VAD-R1 entries of kept clips."""

from __future__ import annotations

import json

import numpy as np
from cosmos_embed.curation.filter import keep_mask, merge_by_video, vad_r1_entry


def test_keeps_clips_near_a_positive_text_and_away_from_every_negative_one():
    clips = np.eye(3, dtype=np.float32)
    positives = np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float32)
    negatives = np.array([[0, 0.8, 0.6]], dtype=np.float32)
    keep, best = keep_mask(clips, positives, negatives, 0.85)
    assert list(keep) == [True, True, False]  # clip 1 is 0.8 from the negative text: below 0.85
    keep, _ = keep_mask(clips, positives, negatives, 0.75)
    assert list(keep) == [True, False, False]  # ... but not below 0.75
    assert list(best) == [1.0, 1.0, 0.0]
    assert list(keep_mask(clips, positives, np.zeros((0, 3), np.float32), 0.5)[0]) == [True, True, False]


def test_vad_r1_entries_merge_chunks_per_video():
    meta = json.dumps({"video_path": "v/a.mp4", "chunks": [{}], "split": "test", "anomaly_type": "fire"})
    rows = [
        {"path": "/d/v/a.mp4", "caption": "fire", "metadata": meta, "start_sec": 2.0, "end_sec": 4.0},
        {"path": "/d/v/a.mp4", "caption": "fire", "metadata": meta, "start_sec": 0.0, "end_sec": 2.0},
        {"path": "/d/v/b.mp4", "caption": "a cat", "metadata": None, "start_sec": None, "end_sec": None},
    ]
    scored = zip(rows, [0.5, 0.7, 0.4], strict=True)
    entries = merge_by_video([(row, vad_r1_entry(row, score)) for row, score in scored])
    assert entries == [
        {
            "split": "test",
            "anomaly_type": "fire",
            "path": "/d/v/a.mp4",
            "filter_score": 0.7,
            "kept_chunks": [[0.0, 2.0], [2.0, 4.0]],
        },
        {"path": "/d/v/b.mp4", "anomaly_type": "a cat", "filter_score": 0.4},
    ]
