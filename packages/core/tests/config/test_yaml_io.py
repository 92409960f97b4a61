"""The one YAML reader of spec files and override values (``cosmos_core.config.yaml_io``)."""

import math

import attrs
import pytest
import yaml
from cosmos_core.config import option, yaml_io
from cosmos_core.config.loader import ConfigError, dump_yaml, load_config, parse_overrides, read_yaml
from cosmos_core.config.yaml_io import MAX_EXPANDED_NODES, YamlInputError, YamlSyntaxError, parse_yaml


@pytest.fixture
def spec(tmp_path):
    """``spec(text_or_bytes)``: the path of a ``spec.yaml`` holding it."""

    def write(content: str | bytes):
        path = tmp_path / "spec.yaml"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return write


def problem(path) -> str:
    """The single problem of the ConfigError that reading ``path`` raises."""
    with pytest.raises(ConfigError) as info:
        read_yaml(path)
    assert len(info.value.problems) == 1
    return info.value.problems[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1e-5", 1e-5),
        ("2e3", 2000.0),
        ("-1.5E-3", -1.5e-3),
        ("+4E+2", 400.0),
        ("1.0e-5", 1e-5),  # the YAML 1.1 form still works
        ("2.e3", 2000.0),
        ("-.5", -0.5),
        (".5e1", 5.0),
        ("1_000e3", 1e6),
        ("3.25", 3.25),
    ],
)
def test_yaml12_floats_are_floats_in_files_and_overrides(spec, text, expected):
    assert read_yaml(spec(f"lr: {text}\n")) == {"lr": pytest.approx(expected)}
    assert isinstance(read_yaml(spec(f"lr: {text}\n"))["lr"], float)
    assert parse_overrides([f"train.optim.lr={text}"]) == [("train.optim.lr", pytest.approx(expected))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12", 12), ("0x1f", 31), ("1e", "1e"), ("e5", "e5"), ("v1e5", "v1e5"), ("1e5x", "1e5x"), ("1.2.3", "1.2.3")],
)
def test_other_scalars_keep_their_yaml_types(text, expected):
    value = parse_yaml(text, "x")
    assert value == expected and type(value) is type(expected)


def test_non_finite_floats_are_read_as_such():
    assert math.isnan(parse_yaml(".nan", "x")) and parse_yaml("-.inf", "x") == -math.inf


def test_written_strings_that_look_like_floats_are_quoted_and_read_back_as_strings(tmp_path):
    @attrs.frozen
    class Names:
        name: str = option("", help="a name")
        tags: list[str] = option(help="tags", factory=list)

    config = Names(name="1e5", tags=["2E-3", "-.5", "plain"])
    text = dump_yaml(config)
    assert "'1e5'" in text and "'2E-3'" in text and "'-.5'" in text
    written = tmp_path / "experiment.yaml"
    written.write_text(text)
    assert load_config(Names, written) == config


def test_duplicate_key_names_both_lines(spec):
    path = spec("train:\n  optim:\n    lr: 0.1\n    weight_decay: 0.0\n\n\n    lr: 0.2\n")
    assert problem(path) == f"{path}:7: duplicate key 'lr' (first at line 3)"


def test_duplicate_key_in_a_flow_mapping_and_equal_keys_of_different_spelling(spec):
    assert problem(spec("a: {x: 1, y: 2, x: 3}\n")).endswith(":1: duplicate key 'x' (first at line 1)")
    assert problem(spec("1: a\n0x1: b\n")).endswith(":2: duplicate key 1 (first at line 1)")


def test_merge_keys_override_without_counting_as_duplicates(spec):
    text = "a: &a {x: 0, y: 0}\nb: &b\n  <<: *a\n  x: 1\nc: &c {y: 2, z: 2}\nderived:\n  <<: [*b, *c]\n  z: 3\n"
    data = read_yaml(spec(text))
    # own keys win over merged ones, an earlier merged mapping over a later one, through nesting too
    assert data["b"] == {"x": 1, "y": 0}
    assert data["derived"] == {"x": 1, "y": 0, "z": 3}


def test_two_merge_keys_in_one_mapping_are_duplicates(spec):
    path = spec("a: &a {x: 0}\nb: &b {y: 0}\nc:\n  <<: *a\n  <<: *b\n")
    assert problem(path) == f"{path}:5: duplicate key '<<' (first at line 4)"


def test_merging_a_scalar_is_a_yaml_error(spec):
    path = spec("a: 1\nb:\n  <<: [1]\n")
    assert problem(path).startswith(f"{path}:3: YAML syntax error: while constructing a mapping, expected a mapping")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("train:\n  callbacks: &cb\n    - {every_n: 1}\n    - *cb\n", 4),
        ("model: &m\n  network:\n    inner: *m\n", 3),
        ("a: &x [1, [2, *x]]\n", 1),
    ],
)
def test_recursive_alias_is_refused_at_the_alias(spec, text, line):
    path = spec(text)
    message = problem(path)
    assert message.startswith(f"{path}:{line}: recursive alias *")
    assert "that it refers to" in message


def test_shared_aliases_that_are_not_recursive_are_fine(spec):
    data = read_yaml(spec("base: &res [64, 64]\ntrain: {resolution: *res}\nval: {resolution: *res}\n"))
    assert data["train"]["resolution"] == data["val"]["resolution"] == [64, 64]


def billion_laughs(levels: int) -> str:
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_before_anything_is_built(spec):
    path = spec(billion_laughs(9))  # 10**9 strings once expanded; 100 distinct nodes as written
    message = problem(path)
    # l4 is the first node past 100,000: 1 + 10 * (1 + 10 * (1 + 10 * (1 + 10 * 11)))
    assert message.startswith(f"{path}:5: aliases expand this node to more than {MAX_EXPANDED_NODES:,} YAML nodes")


def test_expanded_size_counts_each_alias_use(monkeypatch):
    # a: 1 + 3 scalars; b: 1 + 2 * 4; the root: 1 + 2 keys + 4 + 9 = 16 nodes
    text = "a: &a [1, 2, 3]\nb: [*a, *a]\n"
    monkeypatch.setattr(yaml_io, "MAX_EXPANDED_NODES", 16)
    assert parse_yaml(text, "s") == {"a": [1, 2, 3], "b": [[1, 2, 3], [1, 2, 3]]}
    monkeypatch.setattr(yaml_io, "MAX_EXPANDED_NODES", 15)
    with pytest.raises(YamlInputError, match=r"^s:1: aliases expand this node to more than 15 YAML nodes"):
        parse_yaml(text, "s")


def test_a_document_too_large_without_aliases_says_so(monkeypatch):
    monkeypatch.setattr(yaml_io, "MAX_EXPANDED_NODES", 10)
    assert parse_yaml("[1, 2, 3, 4, 5, 6, 7, 8, 9]", "s") == list(range(1, 10))
    with pytest.raises(YamlInputError, match=r"^s:1: this node holds more than 10 YAML nodes; a spec may hold 10$"):
        parse_yaml("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", "s")


def test_non_utf8_file_names_the_byte_and_offset(spec):
    path = spec(b"train:\n  name: caf\xff\n")
    assert problem(path) == (
        f"{path}: not a UTF-8 text file (invalid byte 0xff at offset 18, line 2); save it as UTF-8"
    )


def test_binary_file_is_not_a_spec(spec):
    path = spec(b"PK\x03\x04\x00\x00torch checkpoint bytes")
    assert problem(path) == f"{path}: binary file, not a YAML spec (NUL byte at offset 4)"


def test_utf16_file_is_named_as_such(spec):
    path = spec("lr: 0.1\n".encode("utf-16"))
    assert problem(path) == f"{path}: not a UTF-8 text file (UTF-16 byte order mark); save it as UTF-8"


def test_utf8_byte_order_mark_is_accepted(spec):
    assert read_yaml(spec("\ufefflr: 1e-4\n".encode())) == {"lr": 1e-4}


def test_control_character_names_its_line(spec):
    path = spec("a: 1\nb: x\x07y\n")
    assert problem(path) == f"{path}:2: character #x0007 is not allowed in YAML (a control or non-printable character)"


def test_syntax_error_names_file_line_and_what_was_expected(spec):
    path = spec("train:\n  max_iter: 3\n  optim: [1,\n")
    assert problem(path).startswith(f"{path}:4: YAML syntax error: while parsing a flow")


def test_several_documents_are_refused(spec):
    path = spec("lr: 1\n---\nlr: 2\n")
    assert problem(path) == (
        f"{path}:2: YAML syntax error: expected a single document in the stream, but found another document"
    )


def test_python_tags_are_refused(spec):
    path = spec("x: !!python/object/apply:os.system [echo hi]\n")
    assert problem(path).startswith(f"{path}:1: YAML syntax error: could not determine a constructor")


def test_absurd_nesting_is_an_error_not_a_crash():
    with pytest.raises(YamlInputError, match="^s:1: nested deeper than this reader can follow"):
        parse_yaml("[" * 5000 + "]" * 5000, "s")


def test_empty_spec_and_non_mapping_spec(spec):
    assert read_yaml(spec("# nothing here\n")) == {}
    path = spec("- a\n- b\n")
    assert problem(path) == f"{path}: a spec must be a mapping of config keys, got list"


def test_unreadable_spec(tmp_path):
    assert problem(tmp_path) == f"cannot read spec {tmp_path}: Is a directory"


def test_override_values_go_through_the_same_reader():
    parsed = dict(
        parse_overrides(
            [
                "a=[1e-3, 2]",
                "b={x: 1}",
                "c=",
                "d=name: with: colons",  # not YAML: stays the string it is
                "e=null",
                "f=!!python/name:os.system",  # a tag the safe reader refuses: a string
            ]
        )
    )
    assert parsed == {
        "a": [1e-3, 2],
        "b": {"x": 1},
        "c": "",
        "d": "name: with: colons",
        "e": None,
        "f": "!!python/name:os.system",
    }


def test_override_values_the_reader_refuses_are_problems():
    with pytest.raises(ConfigError) as info:
        parse_overrides(["train.callbacks={a: 1, a: 2}", "x=&a [*a]", "ok=1"])
    assert info.value.problems == [
        "override 'train.callbacks={a: 1, a: 2}': duplicate key 'a' (first at line 1)",
        "override 'x=&a [*a]': recursive alias *a: it is inside the node &a (line 1) that it refers to",
    ]


def test_error_classes():
    assert issubclass(YamlSyntaxError, YamlInputError) and issubclass(YamlInputError, ValueError)
    assert str(YamlInputError("f.yaml", None, "bad")) == "f.yaml: bad"
    assert str(YamlInputError("f.yaml", 3, "bad")) == "f.yaml:3: bad"


def test_the_safe_loader_itself_is_unchanged():
    """The float rules are the reader's own: PyYAML's SafeLoader, used elsewhere, keeps YAML 1.1."""
    assert yaml.safe_load("x: 1e-5") == {"x": "1e-5"}
