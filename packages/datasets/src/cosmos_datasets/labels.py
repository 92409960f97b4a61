"""Caption text ↔ integer label, with the class texts that evaluation ranks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from cosmos_datasets.errors import DatasetConfigError, MetadataError


@attrs.frozen
class LabelMap:
    """``ids[text]`` is a caption's label; ``names[label]`` is the text that stands for that class."""

    ids: dict[str, int]
    names: list[str]

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> LabelMap:
        """Labels are positions in the sorted set of distinct texts (stable across splits of one file)."""
        names = sorted(set(texts))
        return cls({text: i for i, text in enumerate(names)}, names)

    @classmethod
    def from_mapping(cls, caption_to_label: Mapping[str, int]) -> LabelMap:
        """Labels from the config's ``caption_to_label``; several texts may share a label id.

        Ids must be exactly ``0..K-1`` so that every id has a class text; when several texts share an
        id, the first one in the mapping names the class.
        """
        names: dict[int, str] = {}
        for text, label in caption_to_label.items():
            if isinstance(label, bool) or not isinstance(label, int) or label < 0:
                raise DatasetConfigError(
                    f"caption_to_label[{text!r}] must be a non-negative integer label id, got {label!r}"
                )
            names.setdefault(label, text)
        missing = sorted(set(range(max(names) + 1)) - set(names)) if names else []
        if missing:
            raise DatasetConfigError(
                f"caption_to_label ids must cover 0..{max(names)} without gaps; no caption maps to "
                f"{', '.join(map(str, missing))}"
            )
        return cls(dict(caption_to_label), [names[i] for i in range(len(names))])

    @classmethod
    def for_captions(cls, caption_to_label: Mapping[str, int], texts: Iterable[str]) -> LabelMap:
        """The config's ``caption_to_label`` when it is set, else labels from the distinct ``texts``."""
        return cls.from_mapping(caption_to_label) if caption_to_label else cls.from_texts(texts)

    def label_of(self, text: str, source: str) -> int:
        """The label of caption ``text``; a caption outside ``caption_to_label`` names ``source``."""
        try:
            return self.ids[text]
        except KeyError:
            raise MetadataError(
                f"{source}: caption {text!r} is not in caption_to_label "
                f"(known: {', '.join(map(repr, self.ids))}); add it to caption_to_label"
            ) from None

    def __len__(self) -> int:
        return len(self.names)
