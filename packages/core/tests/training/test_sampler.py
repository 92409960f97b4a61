"""The resumable, sharded sampler."""

from __future__ import annotations

from cosmos_core.training.sampler import ResumableSampler


def test_ranks_partition_each_epoch_like_distributed_sampler():
    shards = [ResumableSampler(10, num_replicas=3, rank=r, seed=5) for r in range(3)]
    indices = [list(s) for s in shards]
    assert [len(i) for i in indices] == [4, 4, 4]  # padded to 12 by wrapping around
    assert sorted(set(sum(indices, []))) == list(range(10))
    single = list(ResumableSampler(10, seed=5))
    assert [single[(k * 3 + r) % 10] for k in range(4) for r in range(3)] == [
        indices[r][k] for k in range(4) for r in range(3)
    ]


def test_drop_last_cuts_instead_of_padding():
    shards = [list(ResumableSampler(10, num_replicas=3, rank=r, drop_last=True)) for r in range(3)]
    assert [len(s) for s in shards] == [3, 3, 3]
    assert len(set(sum(shards, []))) == 9


def test_each_epoch_is_a_new_permutation_from_seed_plus_epoch():
    sampler = ResumableSampler(50, seed=1)
    first = list(sampler)
    sampler.set_epoch(1)
    second = list(sampler)
    assert sorted(first) == sorted(second) == list(range(50)) and first != second
    assert list(ResumableSampler(50, seed=1)) == first  # same seed, same order
    assert list(ResumableSampler(50, seed=2)) != first


def test_unshuffled_order():
    assert list(ResumableSampler(5, shuffle=False)) == [0, 1, 2, 3, 4]


def test_resume_continues_the_same_sequence():
    sampler = ResumableSampler(20, num_replicas=2, rank=1, seed=3)
    sampler.set_epoch(2)
    full = list(sampler)
    sampler.advance(4)
    state = sampler.state_dict()
    resumed = ResumableSampler(20, num_replicas=2, rank=1, seed=3)
    resumed.load_state_dict(state)
    assert resumed.epoch == 2 and list(resumed) == full[4:] and len(resumed) == 6


def test_a_changed_dataset_restarts_the_epoch(caplog):
    sampler = ResumableSampler(20, seed=3)
    sampler.advance(8)
    other = ResumableSampler(25, seed=3)
    other.load_state_dict(sampler.state_dict())
    assert other.position == 0 and "cannot be continued exactly" in caplog.text


def test_advance_stops_at_the_end_of_the_shard():
    sampler = ResumableSampler(6, seed=0)
    sampler.advance(4)
    sampler.advance(4)
    assert sampler.position == 6 and list(sampler) == []
