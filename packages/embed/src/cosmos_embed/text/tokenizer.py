"""The Cosmos-Embed1 text tokenizer: uncased BERT WordPiece plus the BLIP-2 ``[DEC]`` token.

Full scale reads bert-base-uncased's vocab.txt (``model.network.vocab_file``, else the local Hugging Face
cache; never downloaded) and appends ``[DEC]`` as id 30522 (vocab 30523, embed1.md §2.1/§4.1). Tiny
scale uses ``cosmos_embed/assets/tiny_vocab.txt``: the special tokens, every ASCII letter and digit
(plain and ``##``) so no word becomes ``[UNK]``, and a few hundred common words.

Texts are padded to ``max_txt_len`` and truncated; ``[CLS] ... [SEP]`` wrap every text.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import torch
from cosmos_core.errors import UserInputError

from cosmos_embed.model.config import NetworkConfig
from cosmos_embed.model.dims import qformer_dims
from cosmos_embed.model.hub import cached_file

DEC_TOKEN = "[DEC]"
BERT_REPOS = ["google-bert/bert-base-uncased", "bert-base-uncased"]
TINY_VOCAB = "tiny_vocab.txt"


class VocabularyNotFoundError(UserInputError, FileNotFoundError):
    """The WordPiece vocab.txt is neither at ``model.network.vocab_file`` nor in the local cache."""


class VocabularyError(UserInputError, ValueError):
    """A vocab.txt that cannot serve as the Cosmos-Embed1 vocabulary (duplicates, missing tokens, size)."""


def read_vocab(path: Path) -> dict[str, int]:
    """WordPiece vocab.txt: one token per line, id = line number."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise VocabularyNotFoundError(
            f"model.network.vocab_file: cannot read {path} ({error.strerror or error}); give the path of "
            "bert-base-uncased's vocab.txt"
        ) from error
    except UnicodeDecodeError as error:
        raise VocabularyError(
            f"model.network.vocab_file: {path} is not UTF-8 text ({error.reason} at byte {error.start}); "
            "give bert-base-uncased's vocab.txt, one token per line"
        ) from error
    vocab: dict[str, int] = {}
    for number, token in enumerate(lines):
        if token in vocab:
            raise VocabularyError(
                f"{path}:{number + 1}: token {token!r} already appears on line {vocab[token] + 1}; "
                "model.network.vocab_file must list each token once"
            )
        vocab[token] = number
    return vocab


def vocab_path(cfg: NetworkConfig) -> Path:
    """Where this config's vocab.txt is, or VocabularyNotFoundError saying how to provide one."""
    if cfg.vocab_file:
        return Path(cfg.vocab_file)
    if cfg.scale == "tiny":
        return Path(str(resources.files("cosmos_embed.assets").joinpath(TINY_VOCAB)))
    found = cached_file(BERT_REPOS, "vocab.txt")
    if found is None:
        raise VocabularyNotFoundError(
            "the bert-base-uncased vocabulary is not in the local Hugging Face cache and cosmos-run never "
            "downloads it: set model.network.vocab_file=/path/to/vocab.txt, or pre-download it with "
            "`huggingface-cli download google-bert/bert-base-uncased vocab.txt` on a machine with internet "
            "access"
        )
    return found


class TextTokenizer:
    """``tokenizer(texts)`` -> {"input_ids", "attention_mask"}: LongTensors [B, max_txt_len]."""

    def __init__(self, vocab: dict[str, int], max_txt_len: int, source: str = "vocab") -> None:
        from transformers import BertTokenizer

        for token in ("[PAD]", "[UNK]", "[CLS]", "[SEP]"):
            if token not in vocab:
                raise VocabularyError(f"{source}: the vocabulary has no {token} token; give the BERT vocab.txt")
        if DEC_TOKEN in vocab:
            raise VocabularyError(f"{source}: the vocabulary already holds {DEC_TOKEN}; give the plain BERT vocab.txt")
        # BertTokenizer(vocab=dict) builds the WordPiece model from the dict; in transformers 5
        # BertTokenizerFast(vocab_file=...) silently ignores the file.
        self._tokenizer = BertTokenizer(vocab=dict(vocab), do_lower_case=True)
        self._tokenizer.add_special_tokens({"bos_token": DEC_TOKEN})
        self.max_txt_len = max_txt_len
        self.dec_token_id = self._tokenizer.convert_tokens_to_ids(DEC_TOKEN)
        if self.dec_token_id != len(vocab):
            raise VocabularyError(
                f"{source}: [DEC] got id {self.dec_token_id}, expected {len(vocab)} (the last id); the "
                "vocabulary's ids must be its line numbers 0..N-1"
            )
        self.pad_token_id = vocab["[PAD]"]
        self.cls_token_id = vocab["[CLS]"]
        self.sep_token_id = vocab["[SEP]"]
        self.unk_token_id = vocab["[UNK]"]
        self.vocab_size = len(vocab) + 1

    def __call__(self, texts: list[str]) -> dict[str, torch.Tensor]:
        if isinstance(texts, str):
            texts = [texts]
        encoded = self._tokenizer(
            list(texts),
            padding="max_length",
            truncation=True,
            max_length=self.max_txt_len,
            return_tensors="pt",
        )
        return {"input_ids": encoded["input_ids"].long(), "attention_mask": encoded["attention_mask"].long()}

    def tokenize(self, text: str) -> list[str]:
        """The WordPiece tokens of one text (no special tokens, no padding)."""
        return self._tokenizer.tokenize(text)

    def decode(self, input_ids: torch.Tensor | list[int]) -> str:
        ids = input_ids.tolist() if isinstance(input_ids, torch.Tensor) else list(input_ids)
        return self._tokenizer.decode(ids, skip_special_tokens=True)


def build_tokenizer(cfg: NetworkConfig) -> TextTokenizer:
    """The tokenizer that fits ``CosmosEmbed1(cfg)``: its vocab size must equal the Q-Former's."""
    path = vocab_path(cfg)
    tokenizer = TextTokenizer(read_vocab(path), cfg.max_txt_len, source=str(path))
    expected = qformer_dims(cfg).vocab_size
    if tokenizer.vocab_size != expected:
        raise VocabularyError(
            f"model.network.vocab_file {path} gives {tokenizer.vocab_size - 1} tokens + [DEC] = "
            f"{tokenizer.vocab_size}, but scale={cfg.scale} has a {expected}-token vocabulary "
            f"({expected - 1} tokens + [DEC]); use the matching vocab.txt"
        )
    return tokenizer
