import pytest
import torch
from cosmos_datasets.video.resize import resize_frames


def test_resize_to_odd_size_keeps_uint8_and_layout():
    frames = torch.randint(0, 256, (3, 3, 32, 48), dtype=torch.uint8)
    out = resize_frames(frames, (17, 31))
    assert out.shape == (3, 3, 17, 31) and out.dtype == torch.uint8


def test_same_size_is_returned_unchanged():
    frames = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    assert resize_frames(frames, (8, 8)) is frames


def test_downscaling_is_antialiased():
    # A one-pixel checkerboard averages to grey when antialiased; plain bilinear would alias to 0 or 255.
    board = ((torch.arange(64)[:, None] + torch.arange(64)[None, :]) % 2 * 255).to(torch.uint8)
    frames = board.expand(1, 3, 64, 64).contiguous()
    out = resize_frames(frames, (8, 8)).float()
    assert (out - 127.5).abs().max() < 10


def test_flat_colour_survives_upscaling():
    frames = torch.full((1, 3, 5, 7), 200, dtype=torch.uint8)
    assert torch.equal(resize_frames(frames, (23, 11)), torch.full((1, 3, 23, 11), 200, dtype=torch.uint8))


def test_rejects_float_frames():
    with pytest.raises(ValueError, match="uint8"):
        resize_frames(torch.zeros(1, 3, 4, 4), (2, 2))
