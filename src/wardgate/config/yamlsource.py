"""YAML loading that remembers where every key came from.

`wardgate check` must name file, line and key for every error. PyYAML's composer
knows each node's position; we keep it by constructing mappings and sequences as
`dict`/`list` subclasses that carry a line table, and later walk a pydantic error
location through them to the nearest known line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml


class LineDict(dict[str, Any]):
    """A mapping with the 1-based line of itself and of each key."""

    line: int = 0
    key_lines: dict[str, int]


class LineList(list[Any]):
    """A sequence with the 1-based line of itself and of each item."""

    line: int = 0
    item_lines: list[int]


class DuplicateKey(yaml.constructor.ConstructorError):
    """A key given twice in one mapping; `location` is its dotted path."""

    def __init__(self, location: tuple[int | str, ...], mark: yaml.Mark) -> None:
        super().__init__(None, None, f"duplicate key {location[-1]!r}", mark)
        self.location = location


class _LineLoader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.path: list[int | str] = []


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            key = str(key)
        if key in result:
            raise DuplicateKey((*loader.path, key), key_node.start_mark)
        loader.path.append(key)
        result[key] = loader.construct_object(value_node, deep=True)
        loader.path.pop()
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList()
    for index, item in enumerate(node.value):
        loader.path.append(index)
        result.append(loader.construct_object(item, deep=True))
        loader.path.pop()
    result.line = node.start_mark.line + 1
    result.item_lines = [item.start_mark.line + 1 for item in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml(text: str) -> Any:
    """Parse YAML into LineDict/LineList trees (safe loader only)."""
    return yaml.load(text, Loader=_LineLoader)


def load_yaml_file(path: Path) -> Any:
    return load_yaml(path.read_text(encoding="utf-8"))


def line_of(tree: Any, location: Sequence[int | str]) -> int:
    """The line of the deepest node on `location` that the YAML source knows."""
    line = getattr(tree, "line", 0)
    node = tree
    for part in location:
        if isinstance(node, LineDict) and isinstance(part, str) and part in node:
            line = node.key_lines.get(part, line)
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            break
    return line
