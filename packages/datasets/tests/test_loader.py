import torch
from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.dataset_types.mock import MockDataset
from cosmos_datasets.loader import build_dataloader


def test_loader_applies_the_config():
    config = SingleDatasetConfig(num_samples=10, num_video_frames=2, resolution=[8, 8], batch_size=4, workers=0)
    loader = build_dataloader(MockDataset(config), config)
    batches = list(loader)
    assert len(batches) == 2 and loader.drop_last
    assert batches[0]["video"].shape == (4, 2, 3, 8, 8) and batches[1]["index"].tolist() == [4, 5, 6, 7]
    assert loader.pin_memory == torch.cuda.is_available()


def test_loader_with_workers_shuffle_and_tokenize():
    config = SingleDatasetConfig(
        num_samples=6,
        num_video_frames=1,
        resolution=[4, 4],
        batch_size=3,
        workers=2,
        drop_last=False,
        prefetch_factor=1,
    )
    loader = build_dataloader(
        MockDataset(config),
        config,
        shuffle=True,
        tokenize=lambda texts: {"lengths": torch.tensor([len(t) for t in texts])},
        generator=torch.Generator().manual_seed(0),
    )
    assert loader.prefetch_factor == 1
    indices = []
    for batch in loader:
        assert batch["lengths"].tolist() == [len(c) for c in batch["caption"]]
        indices += batch["index"].tolist()
    assert sorted(indices) == list(range(6)) and indices != list(range(6))
