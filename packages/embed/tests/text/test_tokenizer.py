from __future__ import annotations

import attrs
import pytest
from cosmos_core.errors import UserInputError
from cosmos_embed.model.presets import preset
from cosmos_embed.text.tokenizer import VocabularyError, VocabularyNotFoundError, build_tokenizer

SAMPLE_TEXTS = [
    "A red car crashes into the blue truck while moving left.",
    "The robot arm picks up a green cube and puts it down on the table.",
    "Two people walk across the street at night in the rain, 3 cars wait.",
    "Qwerty zebra xylophone 1984!",  # unknown words fall back to letters
]


@pytest.fixture(scope="module")
def tiny_tokenizer():
    return build_tokenizer(preset("tiny"))


def test_no_unknown_tokens(tiny_tokenizer):
    for text in SAMPLE_TEXTS:
        ids = tiny_tokenizer([text])["input_ids"][0]
        assert tiny_tokenizer.unk_token_id not in ids.tolist(), text
    assert tiny_tokenizer.tokenize("moving left")[:2] == ["moving", "left"]


def test_padding_and_truncation(tiny_tokenizer):
    batch = tiny_tokenizer(["a car crash", "up and down " * 40])
    assert batch["input_ids"].shape == batch["attention_mask"].shape == (2, 32)
    ids, mask = batch["input_ids"], batch["attention_mask"]
    assert mask[0].tolist() == [1] * 5 + [0] * 27
    assert ids[0, 0] == tiny_tokenizer.cls_token_id and ids[0, 4] == tiny_tokenizer.sep_token_id
    assert ids[0, 5:].eq(tiny_tokenizer.pad_token_id).all()
    assert mask[1].all() and ids[1, -1] == tiny_tokenizer.sep_token_id
    assert tiny_tokenizer.decode(ids[0]) == "a car crash"


def test_dec_token_is_the_last_id(tiny_tokenizer):
    assert tiny_tokenizer.vocab_size == 546
    assert tiny_tokenizer.dec_token_id == 545


def _bert_like_vocab(path, size=30522):
    tokens = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens += ["a", "car", "crash", "##es"]
    tokens += [f"filler{i}" for i in range(size - len(tokens))]
    path.write_text("\n".join(tokens) + "\n")
    return path


def test_full_scale_vocab_file_gets_dec_30522(tmp_path):
    cfg = attrs.evolve(preset("224p"), vocab_file=str(_bert_like_vocab(tmp_path / "vocab.txt")))
    tokenizer = build_tokenizer(cfg)
    assert (tokenizer.dec_token_id, tokenizer.vocab_size) == (30522, 30523)
    assert (tokenizer.pad_token_id, tokenizer.cls_token_id) == (0, 101)
    batch = tokenizer(["a car crashes"])
    assert batch["input_ids"].shape == (1, 128)
    assert batch["input_ids"][0, :6].tolist() == [101, 104, 105, 106, 107, 102]


def test_full_scale_without_vocab_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setattr("cosmos_embed.text.tokenizer.cached_file", lambda repos, name: None)
    with pytest.raises(VocabularyNotFoundError, match="model.network.vocab_file") as raised:
        build_tokenizer(preset("224p"))
    assert isinstance(raised.value, UserInputError) and isinstance(raised.value, FileNotFoundError)
    assert "huggingface-cli download google-bert/bert-base-uncased vocab.txt" in str(raised.value)


def test_missing_vocab_file_names_the_config_path(tmp_path):
    with pytest.raises(VocabularyNotFoundError, match=r"model.network.vocab_file: cannot read .*nope\.txt"):
        build_tokenizer(attrs.evolve(preset("224p"), vocab_file=str(tmp_path / "nope.txt")))


def test_vocab_size_mismatch_is_refused(tmp_path):
    cfg = attrs.evolve(preset("224p"), vocab_file=str(_bert_like_vocab(tmp_path / "vocab.txt", size=1000)))
    with pytest.raises(VocabularyError, match="30523-token vocabulary") as raised:
        build_tokenizer(cfg)
    assert isinstance(raised.value, UserInputError)


def test_duplicate_vocab_line_names_the_line(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\na\na\n")
    with pytest.raises(VocabularyError, match=r"vocab.txt:6: token 'a' already appears on line 5"):
        build_tokenizer(attrs.evolve(preset("tiny"), vocab_file=str(path)))
