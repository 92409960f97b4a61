import pytest
import torch
import torch.nn.functional as F
from cosmos_embed.retrieval import hit_rates, top_k


def test_top_k_orders_by_cosine_similarity():
    database = F.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), dim=1)
    query = F.normalize(torch.tensor([[1.0, 0.1]]), dim=1)
    scores, indices = top_k(query, database, k=5)  # k larger than the database is clamped
    assert indices.tolist() == [[0, 2, 1]]
    assert scores[0, 0] > scores[0, 1] > scores[0, 2]


def test_hit_rates_and_mrr_by_hand():
    classes = torch.eye(3)
    # video 0 ranks its class 1st, video 1 ranks its class 2nd, video 2 ranks its class 3rd.
    videos = torch.tensor([[1.0, 0.2, 0.1], [0.9, 0.5, 0.0], [0.9, 0.5, 0.1]])
    labels = torch.tensor([0, 1, 2])
    metrics = hit_rates(videos, classes, labels, [1, 2, 3])
    assert metrics["top1_hit_rate"] == pytest.approx(1 / 3)
    assert metrics["top2_hit_rate"] == pytest.approx(2 / 3)
    assert metrics["top3_hit_rate"] == 1.0
    assert abs(metrics["mrr"] - (1 + 1 / 2 + 1 / 3) / 3) < 1e-6


def test_ties_count_against_the_true_class():
    collapsed = F.normalize(torch.ones(12, 8), dim=1)
    classes = F.normalize(torch.ones(6, 8), dim=1)
    metrics = hit_rates(collapsed, classes, torch.arange(12) % 6, [1, 3, 6])
    assert metrics["top1_hit_rate"] == 0.0 and metrics["top3_hit_rate"] == 0.0
    assert metrics["top6_hit_rate"] == 1.0 and metrics["mrr"] == pytest.approx(1 / 6)
