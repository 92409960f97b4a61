"""Property tests of the metadata readers and dataset types: any file gives entries or a user error.

For JSON arrays, JSON Lines, CSV (Kinetics), MSR-VTT (rows and the official layout) and VAD-R1 chunk
lists, generated files (well-formed ones with odd values, mangled ones, random text and bytes) either
build a dataset or raise a :class:`~cosmos_core.errors.UserInputError`; any other exception fails the
test. Videos named in the metadata exist for some entries (a real clip), so building reaches the
duration probe and the chunking. The budget is the hypothesis profile of the repository's conftest.py.
"""

from __future__ import annotations

import csv
import io
import json
import uuid

import numpy as np
import pytest
from cosmos_core.config.loader import ConfigError, structure
from cosmos_core.errors import UserInputError
from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.dataset_types.http import HttpDataset
from cosmos_datasets.dataset_types.kinetics import KineticsDataset
from cosmos_datasets.dataset_types.msrvtt import MsrvttDataset
from cosmos_datasets.dataset_types.vad_r1 import VadR1Dataset
from cosmos_datasets.dataset_types.vad_r1_chunks import VadR1ChunksDataset
from cosmos_datasets.metadata import read_csv_records, read_records
from cosmos_datasets.samples import write_video
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
# A session-scoped folder is shared by all examples; each example writes files of its own name.
shared_folder = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A folder with one real clip (``clip.mp4``), Kinetics-named copies of it, and room for metadata."""
    root = tmp_path_factory.mktemp("fuzz")
    frames = np.zeros((4, 16, 16, 3), dtype=np.uint8)
    clip = write_video(root / "clip.mp4", frames, fps=4)
    for name in ("abc.mp4", "abc_000001_000002.mp4"):
        (root / "videos").mkdir(exist_ok=True)
        (root / "videos" / name).write_bytes(clip.read_bytes())
    return root


numbers = st.one_of(
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e300, 1e-300, 2**63, 10**400]),
)
json_scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=12))
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
)
texts = st.one_of(st.sampled_from(["", " ", "normal", "Normal", "car crash", "train", "test"]), st.text(max_size=12))
chunk = st.fixed_dictionaries(
    {},
    optional={
        "start_time_sec": numbers | json_values,
        "end_time_sec": numbers | json_values,
        "start_frame": numbers,
        "end_frame": numbers,
        "is_anomaly": st.booleans() | json_values,
        "overlap_ratio": numbers | json_values,
        "chunk_index": numbers | json_values,
    },
)
# VAD-R1 and http entries: the fields the readers look at, each with plausible and implausible values.
entry = st.fixed_dictionaries(
    {},
    optional={
        "path": st.sampled_from(["clip.mp4", "gone.mp4", "/abs/x.mp4", "", None]) | json_values,
        "video_path": st.sampled_from(["clip.mp4", "http://127.0.0.1:9/v.mp4"]) | json_values,
        "url": st.sampled_from(["http://127.0.0.1:9/v.mp4", "https://x/%2e%2e/v.mp4", "ftp://x", ""]) | json_values,
        "anomaly_type": texts | json_values,
        "what": texts | json_values,
        "when": st.lists(numbers, max_size=3) | json_values,
        "split": texts | json_values,
        "fps": numbers | json_values,
        "video_duration_sec": numbers | json_values,
        "total_frames": numbers,
        "anomaly_start_sec": numbers,
        "anomaly_end_sec": numbers,
        "anomaly_start_frame": numbers,
        "anomaly_end_frame": numbers,
        "chunks": st.lists(chunk, max_size=3) | json_values,
    },
)


def as_json(entries: list, *, indent: int | None) -> str:
    return json.dumps(entries, indent=indent, ensure_ascii=False)


def as_jsonl(entries: list) -> str:
    return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries)


@st.composite
def mangled(draw, text: str) -> str:
    """``text`` with a few random cuts and insertions, as a broken hand edit leaves it."""
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 5))
        text = (
            text[:at]
            + draw(st.text(max_size=3) | st.sampled_from(['"', "}", "]", ",", "\n", "[" * 3000]))
            + text[at + cut :]
        )
    return text


def metadata_texts(entries_strategy: st.SearchStrategy) -> st.SearchStrategy[str]:
    documents = st.one_of(
        st.builds(as_json, entries_strategy, indent=st.sampled_from([None, 2])),
        st.builds(as_jsonl, entries_strategy),
    )
    return st.one_of(
        documents,
        documents.flatmap(mangled),
        st.text(max_size=80),
        st.integers(1, 4000).map(lambda depth: "[" * depth + "]" * depth),
        st.integers(1, 4000).map(lambda depth: '{"a":' * depth + "1" + "}" * depth),
        st.sampled_from(['[{"path": 1' + "0" * 5000 + "}]", '{"x": 1}\n\u2028{"x": 2}']),
    )


def write(folder, content: str | bytes, suffix: str):
    path = folder / f"meta-{uuid.uuid4().hex}{suffix}"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    return path


def config_for(folder, metadata, **fields) -> SingleDatasetConfig:
    defaults = {"num_video_frames": 2, "resolution": [8, 8], "workers": 0, "decode_backend": "pyav"}
    return SingleDatasetConfig(metadata=str(metadata), data_root=str(folder), **{**defaults, **fields})


def builds_or_refuses(make) -> None:
    """``make()`` returns a dataset with at least one item, or raises a user error."""
    try:
        dataset = make()
    except UserInputError:
        return
    assert len(dataset) >= 1


@shared_folder
@given(content=metadata_texts(st.lists(entry, max_size=4)) | st.binary(max_size=64))
@example(content='[{"a": ' * 5000 + "1" + "}]" * 5000)
def test_json_readers_return_objects_or_refuse(folder, content):
    path = write(folder, content, ".json")
    try:
        records = read_records(path)
    except UserInputError:
        return
    assert all(isinstance(line, int) and line >= 1 and isinstance(e, dict) for line, e in records)


@shared_folder
@given(
    content=metadata_texts(st.lists(entry, min_size=1, max_size=4)),
    dataset=st.sampled_from([VadR1Dataset, VadR1ChunksDataset, HttpDataset]),
    caption_field=st.sampled_from(["anomaly_type", ["anomaly_type", "what"], ["when"]]),
    split=st.sampled_from([None, "train"]),
    skip=st.booleans(),
)
# Found by fuzzing: a stated duration of 1e12 s cut into 2e11 chunks (memory ran out); 10**400 (a
# valid JSON number) raised OverflowError in float().
@example(
    content='[{"path": "clip.mp4", "anomaly_type": "x", "video_duration_sec": 1e12}]',
    dataset=VadR1ChunksDataset,
    caption_field="anomaly_type",
    split=None,
    skip=True,
)
@example(
    content='[{"path": "clip.mp4", "anomaly_type": "x", "fps": 1' + "0" * 400 + "}]",
    dataset=VadR1ChunksDataset,
    caption_field="anomaly_type",
    split=None,
    skip=True,
)
def test_captioned_datasets_build_or_refuse(folder, content, dataset, caption_field, split, skip):
    path = write(folder, content, ".json")
    config = config_for(folder, path, caption_field=caption_field, split=split, skip_missing_files=skip)
    builds_or_refuses(lambda: dataset(config, training=True))


msrvtt_row = st.fixed_dictionaries(
    {},
    optional={
        "video_id": st.sampled_from(["clip", "abc", ""]) | json_values,
        "video": st.sampled_from(["clip.mp4", "videos/abc.mp4", ""]) | json_values,
        "caption": texts | st.lists(texts, max_size=3) | json_values,
        "sentences": st.lists(texts, max_size=3) | json_values,
        "split": texts | json_values,
    },
)
official = st.fixed_dictionaries(
    {"sentences": st.lists(msrvtt_row | json_values, max_size=4)},
    optional={"videos": st.lists(msrvtt_row | json_values, max_size=3) | json_values},
).map(lambda document: [document])


@shared_folder
@given(
    content=metadata_texts(st.lists(msrvtt_row, min_size=1, max_size=4))
    | official.map(lambda doc: json.dumps(doc[0])).flatmap(lambda text: st.just(text) | mangled(text)),
    glob=st.sampled_from([None, "videos/*.mp4"]),
    split=st.sampled_from([None, "test"]),
)
@example(content='{"sentences": [], "videos": 1}', glob=None, split=None)  # found by fuzzing: TypeError
def test_msrvtt_builds_or_refuses(folder, content, glob, split):
    path = write(folder, content, ".json")
    mp4_urls = str(folder / glob) if glob else None
    builds_or_refuses(lambda: MsrvttDataset(config_for(folder, path, mp4_urls=mp4_urls, split=split), training=False))


csv_cells = st.one_of(
    st.sampled_from(["abc", "zumba", "", "1", "2", "-1", "nan", "inf", "1e400", "train", " "]), st.text(max_size=8)
)
csv_columns = st.lists(
    st.sampled_from(["label", "youtube_id", "time_start", "time_end", "split", "extra"]), min_size=1, max_size=6
)


@st.composite
def kinetics_csv(draw) -> str:
    columns = draw(csv_columns)
    rows = draw(st.lists(st.lists(csv_cells, min_size=len(columns), max_size=len(columns)), max_size=4))
    out = io.StringIO()
    csv.writer(out).writerows([columns, *rows])
    text = out.getvalue()
    return draw(st.just(text) | mangled(text))


@shared_folder
@given(content=kinetics_csv() | st.text(max_size=60) | st.binary(max_size=40), split=st.sampled_from([None, "train"]))
@example(content="label,youtube_id\n" + "x," * 100 + "\n", split=None)
def test_kinetics_builds_or_refuses(folder, content, split):
    path = write(folder, content, ".csv")
    config = config_for(folder, path, mp4_urls=str(folder / "videos" / "*.mp4"), split=split)
    try:
        rows = read_csv_records(path, dataset_type="kinetics", required=("youtube_id",), example="youtube_id")
    except UserInputError:
        rows = None
    assert rows is None or all(isinstance(row, dict) for _, row in rows)
    builds_or_refuses(lambda: KineticsDataset(config, training=True))


dataset_fields = st.dictionaries(
    st.sampled_from(
        ["dataset_type", "metadata", "resolution", "batch_size", "caption_field", "path_remap", "caption_to_label"]
        + ["chunk_size_sec", "decode_backend", "http_timeout_sec", "skip_missing_files", "split", "nope"]
    ),
    json_values,
    max_size=5,
)


@given(data=dataset_fields)
def test_dataset_config_structures_or_refuses(data):
    try:
        config = structure(SingleDatasetConfig, data)
    except ConfigError:
        return
    assert isinstance(config, SingleDatasetConfig)
