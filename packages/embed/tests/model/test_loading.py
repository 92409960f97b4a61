from __future__ import annotations

import json
import logging

import attrs
import pytest
import torch
from cosmos_core.errors import UserInputError
from cosmos_embed.model.loading import (
    CheckpointMismatchError,
    WeightsReadError,
    export_state_dict,
    load_pretrained,
    read_state_dict,
)
from cosmos_embed.model.presets import preset
from cosmos_embed.model.vit import resample_pos_embed
from safetensors.torch import save_file

TIED = "qformer.cls.predictions.decoder.weight"


def _same_outputs(a, b, videos, text_batch):
    out_a, out_b = a(videos, *text_batch), b(videos, *text_batch)
    torch.testing.assert_close(out_a.visual_proj, out_b.visual_proj)
    torch.testing.assert_close(out_a.text_proj, out_b.text_proj)


@pytest.mark.parametrize("wrapping", ["raw", "model", "state_dict"])
def test_pth_round_trip(tmp_path, make_tiny, videos, text_batch, wrapping):
    source, target = make_tiny(seed=0), make_tiny(seed=1)
    state = source.state_dict()
    path = tmp_path / "ckpt.pth"
    torch.save(state if wrapping == "raw" else {wrapping: state, "iteration": 7}, path)
    result = load_pretrained(target, path)
    assert result.missing_keys == [] and result.unexpected_keys == []
    _same_outputs(source, target, videos, text_batch)


def test_safetensors_round_trip_with_export_layout(tmp_path, make_tiny, videos, text_batch):
    source, target = make_tiny(seed=0), make_tiny(seed=1)
    path = tmp_path / "model.safetensors"
    save_file(export_state_dict(source), str(path))
    assert load_pretrained(target, path).missing_keys == []
    _same_outputs(source, target, videos, text_batch)
    assert target.qformer.cls.predictions.decoder.weight is target.qformer.bert.embeddings.word_embeddings.weight


def test_hugging_face_sharded_directory(tmp_path, make_tiny, videos, text_batch):
    source, target = make_tiny(seed=0), make_tiny(seed=1)
    state = {k: v.contiguous() for k, v in export_state_dict(source).items()}
    keys = sorted(state)
    shards = {"model-00001-of-00002.safetensors": keys[::2], "model-00002-of-00002.safetensors": keys[1::2]}
    weight_map = {}
    for shard, shard_keys in shards.items():
        save_file({k: state[k].to(torch.bfloat16) for k in shard_keys}, str(tmp_path / shard))
        weight_map.update(dict.fromkeys(shard_keys, shard))
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    result = load_pretrained(target, tmp_path)
    assert result.missing_keys == [] and result.unexpected_keys == []
    out_a, out_b = (
        source.get_video_embeddings(torch.zeros(1, 8, 3, 64, 64)),
        target.get_video_embeddings(torch.zeros(1, 8, 3, 64, 64)),
    )
    torch.testing.assert_close(out_a.visual_proj, out_b.visual_proj, atol=0.05, rtol=0.05)  # bf16 storage


def test_tied_decoder_copy_may_be_missing(tmp_path, make_tiny):
    state = dict(make_tiny(seed=0).state_dict())
    del state[TIED]
    state["qformer.bert.embeddings.position_ids"] = torch.arange(64)[None]  # BERT-style buffer
    target = make_tiny(seed=1)
    result = target.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []


def test_pos_embed_is_resampled_on_load(make_tiny):
    stored = make_tiny(seed=0)  # 64x64 frames, patch 8: 8x8 grid
    bigger = make_tiny(seed=1, spatial_resolution=[96, 128])  # 12x16 grid
    result = bigger.load_state_dict(stored.state_dict())
    assert result.missing_keys == []
    pos = bigger.visual_encoder.pos_embed
    assert pos.shape == (1, 1 + 12 * 16, 64)
    torch.testing.assert_close(pos[:, :1], stored.visual_encoder.pos_embed[:, :1])  # cls untouched
    expected = resample_pos_embed(stored.visual_encoder.pos_embed.detach(), (12, 16))
    torch.testing.assert_close(pos.detach(), expected)
    assert bigger.get_video_embeddings(torch.zeros(1, 8, 3, 96, 128)).visual_proj.shape == (1, 32)


def test_export_writes_pos_embed_at_the_models_own_grid(make_tiny):
    model = make_tiny(
        spatial_resolution=[128, 128], visual_encoder=attrs.evolve(preset("tiny").visual_encoder, img_size=64)
    )
    state = export_state_dict(model)
    assert state["visual_encoder.pos_embed"].shape == (1, 1 + 16 * 16, 64)  # 128 / patch 8, not img_size 64
    assert torch.equal(state["visual_encoder.pos_embed"], model.visual_encoder.pos_embed.detach())
    assert state[TIED].data_ptr() != state["qformer.bert.embeddings.word_embeddings.weight"].data_ptr()


def test_q_bias_v_bias_layout_converts(make_tiny):
    source = make_tiny(seed=0)
    state = dict(source.state_dict())
    for block in range(2):
        prefix = f"visual_encoder.blocks.{block}.attn."
        bias = state.pop(prefix + "qkv.bias").clone()
        q, _, v = bias.chunk(3)
        state[prefix + "q_bias"], state[prefix + "v_bias"] = q, v
    target = make_tiny(seed=1)
    assert target.load_state_dict(state).missing_keys == []
    loaded = target.visual_encoder.blocks[0].attn.qkv.bias.detach()
    width = loaded.shape[0] // 3
    torch.testing.assert_close(loaded[:width], state["visual_encoder.blocks.0.attn.q_bias"])
    assert torch.all(loaded[width : 2 * width] == 0)


def test_qformer_prefix_alias_and_wrappers(tmp_path, make_tiny):
    blip2_names = {"qformer.": "Qformer.", "itm_proj.": "itm_head."}
    state = {}
    for key, value in make_tiny(seed=0).state_dict().items():
        for ours, theirs in blip2_names.items():
            key = key.replace(ours, theirs, 1) if key.startswith(ours) else key
        state["module." + key] = value
    torch.save(state, tmp_path / "lavis.pth")
    result = load_pretrained(make_tiny(seed=1), tmp_path / "lavis.pth")
    assert result.missing_keys == [] and result.unexpected_keys == []


def test_strict_mismatch_lists_keys(tmp_path, make_tiny):
    state = dict(make_tiny(seed=0).state_dict())
    for key in [
        "ln_vision.weight",
        "ln_vision.bias",
        "query_tokens",
        "itm_proj.weight",
        "itm_proj.bias",
        "logit_bias",
    ]:
        del state[key]
    state["extra.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(CheckpointMismatchError) as raised:
        load_pretrained(make_tiny(seed=1), tmp_path / "bad.pth")
    message = str(raised.value)
    assert "6 missing key(s)" in message and "ln_vision.bias" in message and ", ..." in message
    assert "1 unexpected key(s) (extra.weight)" in message and "bad.pth" in message
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger = logging.getLogger("cosmos.embed")
    logger.addHandler(handler)
    try:
        relaxed = load_pretrained(make_tiny(seed=1), tmp_path / "bad.pth", strict=False)
    finally:
        logger.removeHandler(handler)
    assert len(relaxed.missing_keys) == 6
    assert [record.levelno for record in records] == [logging.WARNING]
    warning = records[0].getMessage()
    assert "bad.pth loaded non-strictly" in warning and "6 missing key(s) (" in warning
    assert "ln_vision.weight" in warning and ", ...)" in warning
    assert "1 unexpected key(s) (extra.weight)" in warning


def test_shape_mismatch_names_the_source(tmp_path, make_tiny):
    torch.save(make_tiny(seed=0, embed_dim=16).state_dict(), tmp_path / "e16.pth")
    with pytest.raises(CheckpointMismatchError, match="e16.pth does not fit"):
        load_pretrained(make_tiny(seed=1), tmp_path / "e16.pth", strict=False)


def test_repo_id_not_in_cache_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="not in the local cache") as raised:
        read_state_dict("nvidia/Cosmos-Embed1-224p")
    assert "huggingface-cli download nvidia/Cosmos-Embed1-224p" in str(raised.value)
    with pytest.raises(FileNotFoundError, match="not found"):
        read_state_dict(tmp_path / "nope.pth")


def test_pickled_objects_are_refused(tmp_path):
    torch.save({"model": {"weight": torch.zeros(1)}, "config": object()}, tmp_path / "pickled.pth")
    with pytest.raises(WeightsReadError, match="weights-only") as raised:
        read_state_dict(tmp_path / "pickled.pth")
    assert "Unsupported global: GLOBAL object" in str(raised.value) and "weights_only=False" not in str(raised.value)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "bad_pickle"])
def test_unreadable_pth_is_a_user_error_naming_the_file(tmp_path, damage):
    torch.save({"weight": torch.zeros(64)}, tmp_path / "good.pth")
    data = (tmp_path / "good.pth").read_bytes()
    damaged = {
        "truncated": data[: len(data) // 2],
        "garbage": b"not a checkpoint" * 8,
        "empty": b"",
        "bad_pickle": b"\x80\x02R.",  # torch.load raises IndexError
    }[damage]
    (tmp_path / "weights.pth").write_bytes(damaged)
    with pytest.raises(WeightsReadError, match=r"weights\.pth: cannot read it") as raised:
        read_state_dict(tmp_path / "weights.pth")
    assert isinstance(raised.value, UserInputError) and isinstance(raised.value, ValueError)
    assert "copied again" in str(raised.value) and "\n" not in str(raised.value)


def test_unreadable_safetensors_is_a_user_error(tmp_path):
    save_file({"weight": torch.zeros(64)}, str(tmp_path / "good.safetensors"))
    data = (tmp_path / "good.safetensors").read_bytes()
    (tmp_path / "model.safetensors").write_bytes(data[:-10])
    for source in (tmp_path / "model.safetensors", tmp_path):  # the file, and the folder holding it
        with pytest.raises(WeightsReadError, match=r"model\.safetensors: cannot read it as a safetensors file"):
            read_state_dict(source)


def test_broken_safetensors_index_is_a_user_error(tmp_path):
    (tmp_path / "model.safetensors.index.json").write_text('{"metadata": {}}')
    with pytest.raises(WeightsReadError, match="weight_map"):
        read_state_dict(tmp_path)


@pytest.mark.parametrize(
    ("content", "found"),
    [([torch.zeros(1)], "found list"), ({"weight": torch.zeros(1), "step": 3}, "found a dict whose 'step' is a int")],
)
def test_a_file_that_is_no_state_dict_says_what_it_holds(tmp_path, content, found):
    torch.save(content, tmp_path / "odd.pth")
    with pytest.raises(WeightsReadError, match="expected a state dict of tensors") as raised:
        read_state_dict(tmp_path / "odd.pth")
    assert found in str(raised.value)


def test_cached_repo_without_weight_files_says_how_to_download(tmp_path, monkeypatch, make_tiny):
    from cosmos_embed.model.bert_init import DEFAULT_BERT_REPO, load_bert_into_qformer
    from cosmos_embed.model.hub import WeightsNotFoundError

    commit = "0" * 40
    repo = tmp_path / "models--google-bert--bert-base-uncased"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "snapshots" / commit / "vocab.txt").write_text("[PAD]\n")  # only the tokenizer was fetched
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(WeightsNotFoundError, match="model.network.qformer_pretrain_ckpt: .* holds no") as raised:
        load_bert_into_qformer(make_tiny(), DEFAULT_BERT_REPO)
    assert f"huggingface-cli download {DEFAULT_BERT_REPO}" in str(raised.value)


def test_bert_initialisation_of_the_qformer(tmp_path, make_tiny):
    from cosmos_embed.model.bert_init import BertCheckpointError, load_bert_into_qformer

    model = make_tiny()
    hidden, vocab = 64, 545
    bert = {
        "bert.embeddings.word_embeddings.weight": torch.randn(vocab, hidden),
        "bert.embeddings.token_type_embeddings.weight": torch.randn(2, hidden),
        "bert.embeddings.LayerNorm.gamma": torch.randn(hidden),
        "cls.predictions.bias": torch.randn(vocab),
        "bert.pooler.dense.weight": torch.randn(hidden, hidden),
    }
    for layer in range(2):
        bert[f"bert.encoder.layer.{layer}.intermediate.dense.weight"] = torch.randn(256, hidden)
    save_file(bert, str(tmp_path / "bert.safetensors"))
    load_bert_into_qformer(model, str(tmp_path / "bert.safetensors"))
    q = model.qformer
    torch.testing.assert_close(
        q.bert.embeddings.word_embeddings.weight[:vocab], bert["bert.embeddings.word_embeddings.weight"]
    )
    torch.testing.assert_close(q.bert.embeddings.LayerNorm.weight, bert["bert.embeddings.LayerNorm.gamma"])
    torch.testing.assert_close(q.cls.predictions.decoder.bias[:vocab], bert["cls.predictions.bias"])
    assert torch.all(q.cls.predictions.bias == 0)
    layer = q.bert.encoder.layer[1]
    torch.testing.assert_close(
        layer.intermediate_query.dense.weight, bert["bert.encoder.layer.1.intermediate.dense.weight"]
    )
    with pytest.raises(BertCheckpointError, match="no place in the Q-Former"):
        save_file({"bert.something.else": torch.zeros(1)}, str(tmp_path / "odd.safetensors"))
        load_bert_into_qformer(model, str(tmp_path / "odd.safetensors"))


def test_build_model_loads_the_checkpoint(tmp_path, make_tiny, videos, text_batch):
    from cosmos_embed.model.loading import build_model

    source = make_tiny(seed=0)
    torch.save(source.state_dict(), tmp_path / "ckpt.pth")
    built = build_model(preset("tiny"), str(tmp_path / "ckpt.pth")).eval()
    _same_outputs(source, built, videos, text_batch)
    with pytest.raises(ValueError, match="BERT weights only fit"):
        build_model(attrs.evolve(preset("tiny"), pretrained_text_encoder=True))


def test_non_square_model_exports_at_its_own_grid_and_reloads():
    import attrs
    from cosmos_embed.model.embed1 import CosmosEmbed1
    from cosmos_embed.model.loading import export_state_dict, load_state_dict_into
    from cosmos_embed.model.presets import preset

    cfg = attrs.evolve(preset("tiny"), spatial_resolution=[48, 64])
    state = export_state_dict(CosmosEmbed1(cfg))
    assert state["visual_encoder.pos_embed"].shape[1] == 1 + 6 * 8  # the model's own 6x8 grid
    load_state_dict_into(CosmosEmbed1(cfg), state, strict=True)
