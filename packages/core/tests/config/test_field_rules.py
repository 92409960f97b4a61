"""Range errors are config errors: attrs validators and converters run in ``validate``, with paths."""

from typing import Any

import attrs
import cattrs
import pytest
from cosmos_core.config import option
from cosmos_core.config.loader import ConfigError, apply_overrides, load_config, parse_overrides, structure, validate


def at_least_one(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1, got {value}")


def pair_of_positive(instance: Any, attribute: attrs.Attribute, value: list[int]) -> None:
    if len(value) != 2 or any(v < 1 for v in value):
        raise ValueError(f"{attribute.name} must be [H, W] with two positive integers, got {value!r}")


def non_empty_names(value: Any) -> str | list[str]:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, list) and value:
        return value
    raise ValueError(f"caption_field must be a field name or a non-empty list of them; got {value!r}")


@attrs.frozen
class Split:
    batch_size: int = option(4, help="batch", validator=at_least_one)
    workers: int = option(2, help="workers", validator=attrs.validators.ge(0))
    resolution: list[int] = option(help="[H, W]", factory=lambda: [8, 8], validator=pair_of_positive)
    caption_field: str | list[str] = attrs.field(default="label", converter=non_empty_names)
    scale: float = option(1.0, help="a float", validator=attrs.validators.gt(0))


@attrs.frozen
class Optim:
    lr: float = option(1e-3, help="lr")
    betas: list[float] = option(help="betas", factory=lambda: [0.9, 0.99])
    clip: float | None = option(None, help="clip")


@attrs.frozen
class Experiment:
    train_split: Split = option(help="train", factory=Split)
    val_split: Split = option(help="val", factory=Split)
    optim: Optim = option(help="optim", factory=Optim)


BAD_VALUES = [
    ("train_split.batch_size", "0", "train_split.batch_size: batch_size must be at least 1, got 0"),
    ("train_split.workers", "-3", "train_split.workers: 'workers' must be >= 0: -3"),
    (
        "train_split.resolution",
        "[64]",
        "train_split.resolution: resolution must be [H, W] with two positive integers, got [64]",
    ),
    (
        "train_split.caption_field",
        "[]",
        "train_split.caption_field: caption_field must be a field name or a non-empty list of them; got []",
    ),
    ("train_split.scale", "0", "train_split.scale: 'scale' must be > 0: 0.0"),  # the validator sees 0.0
    ("optim.lr", ".nan", "optim.lr: expected a finite number, got nan"),
    ("optim.lr", "-.inf", "optim.lr: expected a finite number, got -inf"),
    ("optim.betas", "[0.9, .inf]", "optim.betas[1]: expected a finite number, got inf"),
    ("optim.clip", ".nan", "optim.clip: expected a finite number, got nan"),
]


@pytest.mark.parametrize(("path", "value", "message"), BAD_VALUES)
def test_bad_override_is_a_config_error_naming_the_path(path, value, message):
    with pytest.raises(ConfigError) as info:
        load_config(Experiment, None, [f"{path}={value}"])
    assert info.value.problems == [message]


@pytest.mark.parametrize(("path", "value", "message"), BAD_VALUES)
def test_bad_value_in_a_spec_file_is_a_config_error_naming_the_path(tmp_path, path, value, message):
    section, key = path.split(".")
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"{section}:\n  {key}: {value}\n")
    with pytest.raises(ConfigError) as info:
        load_config(Experiment, spec)
    assert info.value.problems == [message] and info.value.source == str(spec)


def test_every_problem_at_once_and_a_type_error_is_reported_once():
    overrides = parse_overrides(
        [
            "train_split.batch_size=0",
            "val_split.batch_size=x",  # wrong type: the validator is not run on it
            "val_split.resolution=[64, 0]",
            "optim.lr=.nan",
            "optim.lrr=1",
        ]
    )
    problems = validate(Experiment, apply_overrides({}, overrides))
    assert problems == [
        "train_split.batch_size: batch_size must be at least 1, got 0",
        "val_split.batch_size: expected int, got 'x' (str)",
        "val_split.resolution: resolution must be [H, W] with two positive integers, got [64, 0]",
        "optim.lr: expected a finite number, got nan",
        "optim.lrr: unknown config key; did you mean 'optim.lr'?",
    ]


def test_good_values_still_structure():
    config = load_config(Experiment, None, ["train_split.caption_field=[a, b]", "optim.lr=2e-3", "train_split.scale=3"])
    assert config.train_split.caption_field == ["a", "b"] and config.optim.lr == 2e-3
    assert config.train_split.scale == 3.0 and isinstance(config.train_split.scale, float)


def test_a_non_finite_value_of_a_non_float_field_says_what_was_expected():
    assert validate(Split, {"batch_size": float("nan")}) == ["batch_size: expected int, got nan (float)"]


def test_validators_of_nested_config_fields_see_the_built_section():
    seen = []

    def record(instance: Any, attribute: attrs.Attribute, value: Split) -> None:
        seen.append(value)
        if value.batch_size > value.workers * 100:
            raise ValueError("too few workers for that batch size")

    @attrs.frozen
    class Outer:
        split: Split = option(help="split", factory=Split, validator=record)

    assert validate(Outer, {"split": {"batch_size": 1000, "workers": 1}}) == [
        "split: too few workers for that batch size"
    ]
    assert seen == [Split(batch_size=1000, workers=1)]
    assert validate(Outer, {"split": {"batch_size": 0}}) == ["split.batch_size: batch_size must be at least 1, got 0"]
    assert len(seen) == 1  # not called with a section that has problems of its own


def test_attrs_converter_objects_get_the_field():
    def scaled(value: int, field: attrs.Attribute) -> int:
        if value < 0:
            raise ValueError(f"{field.name} cannot be negative, got {value}")
        return value * 2

    @attrs.frozen
    class WithConverter:
        steps: int = attrs.field(default=1, converter=attrs.Converter(scaled, takes_field=True))

    assert validate(WithConverter, {"steps": -1}) == ["steps: steps cannot be negative, got -1"]
    assert structure(WithConverter, {"steps": 3}).steps == 6


def test_rules_only_construction_can_check_still_give_a_config_error_with_the_path():
    @attrs.frozen
    class Window:
        start: int = option(0, help="start")
        stop: int = option(10, help="stop")

        def __attrs_post_init__(self) -> None:
            if self.stop <= self.start:
                raise ValueError(f"stop ({self.stop}) must be after start ({self.start})")

    @attrs.frozen
    class Holder:
        window: Window = option(help="window", factory=Window)

    with pytest.raises(ConfigError) as info:
        structure(Holder, {"window": {"start": 5, "stop": 2}}, "spec.yaml")
    assert info.value.problems == ["window: stop (2) must be after start (5)"]
    assert info.value.source == "spec.yaml"


def test_a_bug_in_a_config_class_is_not_reported_as_a_config_error():
    @attrs.frozen
    class Buggy:
        size: int = option(1, help="size")

        def __attrs_post_init__(self) -> None:
            raise RuntimeError("a bug, not a bad value")

    with pytest.raises(cattrs.BaseValidationError) as info:
        structure(Buggy, {"size": 2})
    assert isinstance(info.value.exceptions[0], RuntimeError)
