"""Property tests of the spec loader: any text, overrides or data give a config or a ConfigError, nothing else.

The budget is the hypothesis profile of the repository's conftest.py (small and derandomized in CI;
``HYPOTHESIS_PROFILE=fuzz`` for a long run).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

import attrs
from cosmos_core.config import option
from cosmos_core.config.loader import ConfigError, apply_overrides, parse_overrides, read_yaml, structure
from cosmos_core.errors import UserInputError
from hypothesis import example, given
from hypothesis import strategies as st


def _at_least_one(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1, got {value}")


def _names(value: Any) -> str | list[str]:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return value
    raise ValueError(f"expected a name or a list of names, got {value!r}")


@attrs.frozen
class Optim:
    lr: float = option(1e-5, help="lr")
    betas: list[float] = option(help="betas", factory=lambda: [0.9, 0.98])
    policy: Literal["cosine", "linear"] = option("cosine", help="policy")


@attrs.frozen
class Train:
    max_iter: int = option(10, help="iterations", validator=_at_least_one)
    optim: Optim = option(help="optim", factory=Optim)
    callbacks: dict[str, Any] = option(help="callbacks", factory=dict)
    weights: dict[str, int] = option(help="weights", factory=dict)
    checkpoint: str | None = option(None, help="checkpoint")
    caption_field: str | list[str] = attrs.field(default="anomaly_type", converter=_names)
    enabled: bool = option(False, help="flag")

    def __attrs_post_init__(self) -> None:
        if self.checkpoint == "forbidden":
            raise ValueError("checkpoint may not be 'forbidden'")


@attrs.frozen
class Experiment:
    results_dir: str = option("/results", help="where")
    train: Train = option(help="train", factory=Train)


PATHS = [
    "results_dir",
    "train",
    "train.max_iter",
    "train.optim",
    "train.optim.lr",
    "train.optim.betas",
    "train.optim.policy",
    "train.callbacks",
    "train.callbacks.ema.decay",
    "train.weights",
    "train.weights.a",
    "train.checkpoint",
    "train.caption_field",
    "train.enabled",
    "train.nope",
]

# YAML-ish scalars that stress the reader: dates, huge numbers, tags, anchors, odd floats.
TRICKY_VALUES = [
    "2001-02-30",
    "2001-12-14t21:59:43.10-05:00",
    "1" * 5000,
    "0x" + "f" * 5000,
    "1e400",
    "-.inf",
    ".nan",
    "!!float abc",
    "!!int x",
    "!!binary =",
    "!!timestamp 2001-99-99",
    "!!python/object:os.system x",
    "&a [*a]",
    "[&a x, *a, *b]",
    "{a: 1, a: 2}",
    "{<<: [1, 2]}",
    "{? [a]: 1}",
    "[" * 2000,
    "- - - - - - - -",
    "|\n  text",
    "'unterminated",
    "\x00",
    "\ud7ff\ufffe",
    "%YAML 1.1\n--- x",
    "--- a\n--- b",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
data_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(PATHS) | st.text(max_size=8), inner),
    max_leaves=20,
)
value_text = st.one_of(st.text(max_size=40), st.sampled_from(TRICKY_VALUES))
override = st.one_of(
    st.builds(lambda key, value: f"{key}={value}", st.sampled_from(PATHS) | st.text(max_size=15), value_text),
    st.text(max_size=40),
)


# Inputs fuzzing found that once escaped as ValueError or AttributeError.
@example(["results_dir=0000-00-00"])  # year 0: ValueError from datetime
@example(["train=2001-02-30"])
@example(["train.max_iter=0x" + "f" * 5000])  # an int too long to print in the message
@example(["train.checkpoint=!!timestamp x"])  # PyYAML's timestamp constructor assumed a match
@given(st.lists(override, max_size=6))
def test_overrides_give_a_config_or_a_config_error(args):
    try:
        config = structure(Experiment, apply_overrides({}, parse_overrides(args)))
    except ConfigError:
        return
    assert isinstance(config, Experiment)


@given(st.dictionaries(st.sampled_from(PATHS) | st.text(max_size=8), data_values, max_size=6))
def test_structure_gives_a_config_or_a_config_error(data):
    try:
        nested = apply_overrides({}, list(data.items()))
        config = structure(Experiment, nested)
    except ConfigError:
        return
    assert isinstance(config, Experiment)


spec_text = st.one_of(
    st.text(max_size=200),
    st.lists(st.builds(lambda k, v: f"{k}: {v}", st.sampled_from(PATHS), value_text), max_size=8).map("\n".join),
    st.lists(st.sampled_from(TRICKY_VALUES), min_size=1, max_size=4).map("\n".join),
)


@example(b"!!timestamp")
@example(b"train: {max_iter: !!int ''}")
@given(st.one_of(spec_text.map(str.encode), st.binary(max_size=200)))
def test_read_yaml_gives_a_mapping_or_a_config_error(content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spec.yaml"
        path.write_bytes(content)
        try:
            data = read_yaml(path)
        except UserInputError:
            return
    assert isinstance(data, dict)
    try:
        config = structure(Experiment, data)
    except ConfigError:
        return
    assert isinstance(config, Experiment)
