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
