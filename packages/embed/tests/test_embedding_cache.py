import json
import pickle

import pytest
import torch
from cosmos_embed import embedding_cache
from cosmos_embed.embedding_cache import EmbeddingCache, EmbeddingCacheError


def make_cache(model="m1", dataset="d1"):
    return EmbeddingCache(
        tensors={"videos": torch.randn(3, 4)},
        records=[{"path": f"v{i}.mp4", "caption": "c", "label": i} for i in range(3)],
        fingerprint={"model": model, "dataset": dataset},
        extra={"class_names": ["a", "b", "c"]},
    )


def test_round_trip(tmp_path):
    cache = make_cache()
    path = embedding_cache.save(cache, tmp_path / "db.pkl")
    loaded = embedding_cache.load(path, {"model": "m1", "dataset": "d1"})
    assert torch.equal(loaded.tensors["videos"], cache.tensors["videos"])
    assert loaded.records == cache.records and loaded.extra == cache.extra


def test_cache_of_another_model_or_dataset_is_refused(tmp_path):
    path = embedding_cache.save(make_cache(), tmp_path / "db.pkl")
    with pytest.raises(EmbeddingCacheError, match="different model"):
        embedding_cache.load(path, {"model": "m2", "dataset": "d1"})
    with pytest.raises(EmbeddingCacheError, match="different dataset"):
        embedding_cache.load(path, {"model": "m1", "dataset": "d2"})


class Boom:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_a_pickle_is_never_unpickled(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"videos": Boom()}))
    with pytest.raises(EmbeddingCacheError, match="unpickling can run code"):
        embedding_cache.load(path)
    assert not (tmp_path / "PWNED").exists()


def test_weights_digest_sees_changed_weights():
    state = {"w": torch.randn(1000), "b": torch.zeros(3)}
    before = embedding_cache.weights_digest(state)
    state["w"][0] += 1.0
    assert embedding_cache.weights_digest(state) != before


def evaluation_cache() -> EmbeddingCache:
    return EmbeddingCache(
        tensors={"videos": torch.randn(3, 4), "class_texts": torch.randn(2, 4)},
        records=[{"path": f"v{i}.mp4", "caption": "c", "label": i % 2} for i in range(3)],
        fingerprint={"model": "m1", "dataset": "d1"},
        extra={"class_names": ["a", "b"]},
    )


def save_raw(path, tensors, metadata):
    """A safetensors file as another tool (or a hand edit) would leave it."""
    from safetensors.torch import save_file

    save_file(tensors, str(path), metadata=metadata)
    return path


def edited(cache: EmbeddingCache, **changes) -> dict:
    """The metadata ``save`` writes for ``cache``, with some fields replaced (``None`` drops one)."""
    metadata = {
        "format": embedding_cache.FORMAT,
        "records": json.dumps(cache.records),
        "fingerprint": json.dumps(cache.fingerprint),
        "extra": json.dumps(cache.extra),
    }
    metadata.update(changes)
    return {k: v for k, v in metadata.items() if v is not None}


def test_an_evaluation_cache_round_trips_with_its_class_texts(tmp_path):
    path = embedding_cache.save(evaluation_cache(), tmp_path / "eval.pkl")
    loaded = embedding_cache.load(path, needs=("videos", "class_texts"))
    assert loaded.extra["class_names"] == ["a", "b"] and loaded.tensors["class_texts"].shape == (2, 4)


FOREIGN = [
    ("no format mark", {"format": None}, None, "no cosmos-run format mark"),
    ("records missing", {"records": None}, None, "its header has no 'records'"),
    ("records not JSON", {"records": "[{"}, None, "its 'records' header is not valid JSON"),
    ("records an object", {"records": "{}"}, None, "its 'records' header is a dict, not a list"),
    ("no label", {"records": json.dumps([{"path": "v.mp4"}] * 3)}, None, "record 0 has no integer 'label'"),
    ("text label", {"records": json.dumps([{"path": "v.mp4", "label": "a"}] * 3)}, None, "no integer 'label'"),
    ("no path", {"records": json.dumps([{"label": 0}] * 3)}, None, "record 0 has no 'path'"),
    ("fewer records", {"records": json.dumps([{"path": "v", "label": 0}])}, None, "3 video embeddings but 1 records"),
    ("no videos", {}, {"class_texts": torch.randn(2, 4)}, "it has no 'videos' tensor (tensors: class_texts)"),
    ("1-d videos", {}, {"videos": torch.randn(3), "class_texts": torch.randn(2, 4)}, "shape (3,), not 2-D floats"),
    ("wider texts", {}, {"videos": torch.randn(3, 4), "class_texts": torch.randn(2, 5)}, "5-d, video embeddings 4-d"),
    ("names long", {"extra": json.dumps({"class_names": ["a", "b", "c"]})}, None, "2 class text embeddings for 3"),
    ("texts only", {"extra": "{}"}, None, "a 'class_texts' tensor but no 'class_names' list"),
    (
        "label past names",
        {"extra": json.dumps({"class_names": ["a"]})},
        {"videos": torch.randn(3, 4)},
        "label 1 has no",
    ),
]


@pytest.mark.parametrize(("case", "metadata", "tensors", "message"), FOREIGN, ids=[c[0] for c in FOREIGN])
def test_hand_edited_or_foreign_caches_are_refused_by_name(tmp_path, case, metadata, tensors, message):
    cache = evaluation_cache()
    path = save_raw(tmp_path / "db.pkl", tensors or cache.tensors, edited(cache, **metadata))
    with pytest.raises(EmbeddingCacheError) as info:
        embedding_cache.load(path)
    text = str(info.value)
    assert text.startswith(f"{path} is not a cosmos-run embedding cache built by save_dataset_pkl: ")
    assert message in text and "rerun with save_dataset_pkl" in text


def test_a_search_cache_is_refused_where_evaluation_needs_class_texts(tmp_path):
    path = embedding_cache.save(make_cache(), tmp_path / "db.pkl")
    with pytest.raises(EmbeddingCacheError, match="it has no 'class_texts' tensor"):
        embedding_cache.load(path, needs=("videos", "class_texts"))
