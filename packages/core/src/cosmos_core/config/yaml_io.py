"""The one YAML reader of specs and override values, and the writer whose output it reads back.

PyYAML's ``safe_load`` follows YAML 1.1, which makes ``1e-5`` a string, silently keeps the last of
two equal keys, and constructs recursive or exponentially aliased documents ("billion laughs") that
blow up whatever walks them later (validation, ``apply_overrides``' deep copy). This reader differs:

- floats follow YAML 1.2: ``1e-5``, ``2E3``, ``-1.5e-3``, ``-.5`` are floats (the 1.1 forms stay);
- a duplicate key in a mapping is refused with both lines;
- an alias inside the node it refers to is refused at the alias, before anything is built;
- a document whose node graph, with every alias expanded, exceeds :data:`MAX_EXPANDED_NODES` is
  refused (counted on the composed graph with memoisation, so the count itself is cheap);
- a value PyYAML resolves but Python cannot build (``2001-02-30``, ``!!float abc``, an integer of
  more than :data:`MAX_INT_BITS` bits) is a syntax error at its line, not a bare ``ValueError``;
- merge keys (``<<: *base``) resolve as YAML defines them, own keys first (PyYAML 6 can get
  nested merges wrong, see :meth:`SpecLoader.flatten_mapping`);
- a file with NUL bytes or that is not UTF-8 gets an error saying so, not a parser message.

Errors carry the source (a file path, or an override) and the line.

:class:`SpecDumper` quotes every string that this reader would take for a float, so written
configs (``experiment.yaml``) read back to the same values.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_EXPANDED_NODES = 100_000
"""Most YAML nodes one document may expand to. A real spec has a few hundred; only aliases
multiplying aliases (or a file that is not a spec) come near this."""

MAX_INT_BITS = 1024
"""Largest integer (in bits) a spec may hold: far beyond any setting, and well below the 4,300 digits
past which Python cannot even print the number in a message."""

_FLOAT_TAG = "tag:yaml.org,2002:float"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"
_STR_TAG = "tag:yaml.org,2002:str"
_FLOAT = re.compile(
    r"""^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
    |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.VERBOSE,
)
_BOMS = {  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    codecs.BOM_UTF32_LE: "UTF-32",
    codecs.BOM_UTF32_BE: "UTF-32",
    codecs.BOM_UTF16_LE: "UTF-16",
    codecs.BOM_UTF16_BE: "UTF-16",
}


class YamlInputError(ValueError):
    """Text that cannot be read as a spec; ``str()`` is one line, ``source[:line]: problem``."""

    def __init__(self, source: str, line: int | None, problem: str) -> None:
        self.source = source
        self.line = line
        self.problem = problem
        super().__init__(f"{source}:{line}: {problem}" if line is not None else f"{source}: {problem}")


class YamlSyntaxError(YamlInputError):
    """Text that is not valid YAML at all (the scanner, parser or constructor refused it)."""


def _with_yaml12_floats(resolvers: dict[str, list[tuple[str, re.Pattern[str]]]]) -> dict[str, list]:
    """A copy of PyYAML's implicit resolvers with the float pattern replaced in place (order kept)."""
    return {
        first: [(tag, _FLOAT if tag == _FLOAT_TAG else regexp) for tag, regexp in entries]
        for first, entries in resolvers.items()
    }


class SpecLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with YAML 1.2 floats and the refusals listed in the module docstring.

    ``source`` names the text in errors (a file path, or an override).
    """

    yaml_implicit_resolvers = _with_yaml12_floats(yaml.SafeLoader.yaml_implicit_resolvers)

    def __init__(self, text: str, source: str) -> None:
        super().__init__(text)
        self.source = source
        self._open_anchors: dict[str, int] = {}  # anchors whose node is being composed → its line
        self._has_aliases = False

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self._has_aliases = True
            if event.anchor in self._open_anchors:
                raise YamlInputError(
                    self.source,
                    event.start_mark.line + 1,
                    f"recursive alias *{event.anchor}: it is inside the node &{event.anchor} "
                    f"(line {self._open_anchors[event.anchor]}) that it refers to",
                )
            return super().compose_node(parent, index)
        if event.anchor is None:
            return super().compose_node(parent, index)
        self._open_anchors[event.anchor] = event.start_mark.line + 1
        try:
            return super().compose_node(parent, index)
        finally:
            del self._open_anchors[event.anchor]

    def construct_document(self, node: Node) -> Any:
        self._check_graph(node)
        return super().construct_document(node)

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        """PyYAML's constructors raise bare ``ValueError``, ``OverflowError`` or ``AttributeError`` for
        values its resolvers (or an explicit tag) accepted but Python cannot build (``2001-02-30``,
        year 0, ``!!float abc``, ``!!timestamp x``); those, and integers beyond :data:`MAX_INT_BITS`,
        become a syntax error at the value's line."""
        try:
            data = super().construct_object(node, deep=deep)
        except YamlInputError:
            raise
        except (ValueError, OverflowError) as err:
            raise self._unreadable(node, str(err)) from None
        except (TypeError, AttributeError, LookupError):  # ``!!timestamp x``, ``!!int ''``: PyYAML assumed a match
            raise self._unreadable(node, "not a value of that type") from None
        if isinstance(data, int) and not isinstance(data, bool) and data.bit_length() > MAX_INT_BITS:
            raise self._unreadable(node, f"an integer of more than {MAX_INT_BITS} bits; no setting is that large")
        return data

    def _unreadable(self, node: Node, why: str) -> YamlSyntaxError:
        shown = node.value if isinstance(node, ScalarNode) else node.id
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        tag = node.tag.rsplit(":", 1)[-1]
        return YamlSyntaxError(
            self.source,
            node.start_mark.line + 1,
            f"cannot read {shown!r} as a YAML {tag} ({why}); quote it to keep it as text",
        )

    def _check_graph(self, root: Node) -> None:
        """Refuse duplicate keys and graphs that expand to more than :data:`MAX_EXPANDED_NODES` nodes.

        Runs on the composed graph, before construction flattens merge keys (``<<: *base`` followed
        by a key of ``base`` is an override, not a duplicate) and before anything is built. Each
        distinct node is visited once and its expanded size computed once (memoised by identity),
        so a billion-laughs document costs as many steps as it has distinct nodes. The graph has
        no cycles: :meth:`compose_node` refused recursive aliases.
        """
        sizes: dict[int, int] = {}
        entered: set[int] = set()
        stack: list[Node] = [root]
        while stack:
            node = stack[-1]
            children = _children(node)
            if id(node) not in entered:  # pre-order, in document order: check, then descend
                entered.add(id(node))
                if isinstance(node, MappingNode):
                    self._refuse_duplicate_keys(node)
                stack.extend(child for child in reversed(children) if id(child) not in entered)
                continue
            stack.pop()
            if id(node) in sizes:
                continue
            size = 1 + sum(sizes[id(child)] for child in children)
            if size > MAX_EXPANDED_NODES:
                raise YamlInputError(self.source, node.start_mark.line + 1, self._too_large())
            sizes[id(node)] = size

    def _too_large(self) -> str:
        limit = f"{MAX_EXPANDED_NODES:,}"
        if self._has_aliases:
            return f"aliases expand this node to more than {limit} YAML nodes (an alias bomb?); a spec may hold {limit}"
        return f"this node holds more than {limit} YAML nodes; a spec may hold {limit}"

    def flatten_mapping(self, node: MappingNode) -> None:
        """Resolve merge keys (``<<: *base``, ``<<: [*a, *b]``) as YAML defines them: the mapping's
        own keys win over merged ones, and an earlier merged mapping wins over a later one.

        PyYAML 6 keeps the first of two equal keys when their strings are one object (as short
        strings are), so a nested merge could silently replace a value the mapping sets itself.
        """
        own, merged = [], []
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                if key_node.tag == _VALUE_TAG:  # the ``=`` key, as PyYAML reads it
                    key_node.tag = _STR_TAG
                own.append((key_node, value_node))
                continue
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in sources:
                if not isinstance(source, MappingNode):
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"expected a mapping or a list of mappings to merge, but found a {source.id}",
                        source.start_mark,
                    )
                self.flatten_mapping(source)
                merged.append(source.value)
        node.value = [pair for pairs in reversed(merged) for pair in pairs] + own  # later pairs win

    def _refuse_duplicate_keys(self, node: MappingNode) -> None:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                key: Any = "<<"
            elif isinstance(key_node, ScalarNode):
                key = self.construct_object(key_node)  # so 1 and 0x1, or true and True, are one key
            else:
                continue  # a sequence or mapping as key: the constructor refuses it as unhashable
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise YamlInputError(self.source, line, f"duplicate key {key!r} (first at line {first_line[key]})")
            first_line[key] = line


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def parse_yaml(text: str, source: str) -> Any:
    """The value of one YAML document (``None`` when empty), read by :class:`SpecLoader`.

    Raises :class:`YamlSyntaxError` for text that is not YAML and :class:`YamlInputError` for
    YAML this reader refuses (duplicate keys, recursive aliases, alias bombs, too deep nesting).
    """
    loader: SpecLoader | None = None
    try:
        loader = SpecLoader(text, source)  # checks the characters already
        return loader.get_single_data()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = f"{err.context}, {err.problem}" if err.context else err.problem
        raise YamlSyntaxError(source, mark.line + 1 if mark else None, f"YAML syntax error: {problem}") from None
    except yaml.reader.ReaderError as err:
        line = text.count("\n", 0, err.position) + 1
        raise YamlSyntaxError(
            source,
            line,
            f"character #x{err.character:04x} is not allowed in YAML (a control or non-printable character)",
        ) from None
    except RecursionError:
        line = loader.get_mark().line + 1 if loader is not None else None
        raise YamlInputError(
            source, line, "nested deeper than this reader can follow; a spec needs a handful of levels"
        ) from None
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml_file(path: Path) -> Any:
    """:func:`parse_yaml` of a UTF-8 file; binary and other encodings are refused by name.

    ``OSError`` (missing, unreadable) propagates for the caller to word.
    """
    data = Path(path).read_bytes()
    for bom, encoding in _BOMS.items():
        if data.startswith(bom):
            raise YamlInputError(
                str(path), None, f"not a UTF-8 text file ({encoding} byte order mark); save it as UTF-8"
            )
    nul = data.find(b"\x00")
    if nul >= 0:
        raise YamlInputError(str(path), None, f"binary file, not a YAML spec (NUL byte at offset {nul})")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise YamlInputError(
            str(path),
            None,
            f"not a UTF-8 text file (invalid byte 0x{data[err.start]:02x} at offset {err.start}, line {line}); "
            "save it as UTF-8",
        ) from None
    return parse_yaml(text, str(path))


class SpecDumper(yaml.SafeDumper):
    """``yaml.SafeDumper`` that quotes strings :class:`SpecLoader` would read as floats (``'1e5'``)."""

    yaml_implicit_resolvers = _with_yaml12_floats(yaml.SafeDumper.yaml_implicit_resolvers)
