"""`CatalogIndex`: a `CatalogSnapshot` arranged for the lookups masking and lineage need.

Built once per snapshot (the cache keeps it with the snapshot): column lists per
table in attribute order, PostgreSQL (table OID, attnum) → column, view
definitions, user-defined function names, and the nested mapping sqlglot's
`qualify` takes as a schema. Names are compared lowercased.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from wardgate.seam import CatalogFunction, CatalogSnapshot

_versions = itertools.count(1)


@dataclass(slots=True)
class CatalogIndex:
    default_schema: str = ""
    known: bool = False  # False: no snapshot could be read (the safe outcome applies)
    version: int = field(default_factory=lambda: next(_versions))
    tables: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    types: dict[tuple[str, str, str], str] = field(default_factory=dict)
    oids: dict[int, tuple[str, str]] = field(default_factory=dict)
    attributes: dict[tuple[int, int], str] = field(default_factory=dict)
    views: dict[tuple[str, str], str] = field(default_factory=dict)
    functions: frozenset[str] = frozenset()
    routines: tuple[CatalogFunction, ...] = ()  # with volatility, for the policy

    @classmethod
    def from_snapshot(cls, snapshot: CatalogSnapshot, default_schema: str) -> CatalogIndex:
        index = cls(default_schema=default_schema.lower(), known=True)
        positions: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for column in snapshot.columns:
            key = (column.schema.lower(), column.table.lower())
            positions.setdefault(key, []).append((column.position, column.name.lower()))
            index.types[(*key, column.name.lower())] = column.type_name
        for key, entries in positions.items():
            index.tables[key] = [name for _, name in sorted(entries)]
        by_table = {(s.lower(), t.lower()): oid for oid, (s, t) in snapshot.table_oids.items()}
        index.oids = {oid: key for key, oid in by_table.items()}
        for column in snapshot.columns:
            oid = by_table.get((column.schema.lower(), column.table.lower()))
            if oid is not None and column.position > 0:
                index.attributes[(oid, column.position)] = column.name.lower()
        for view in snapshot.views:
            index.views[(view.schema.lower(), view.name.lower())] = view.definition
        index.functions = frozenset(f.name.lower() for f in snapshot.functions)
        index.routines = tuple(snapshot.functions)
        return index

    def resolve_oid(self, table_oid: int, attnum: int) -> tuple[str, str, str] | None:
        table = self.oids.get(table_oid)
        column = self.attributes.get((table_oid, attnum))
        if table is None or column is None:
            return None
        return (*table, column)

    def find_table(self, schema: str, table: str) -> tuple[str, str] | None:
        """The (schema, table) a possibly unqualified name refers to."""
        table = table.lower()
        if schema:
            key = (schema.lower(), table)
            return key if key in self.tables else None
        key = (self.default_schema, table)
        if key in self.tables:
            return key
        matches = [k for k in self.tables if k[1] == table]
        return matches[0] if len(matches) == 1 else None

    def sqlglot_schema(self) -> dict[str, dict[str, dict[str, str]]]:
        schema: dict[str, dict[str, dict[str, str]]] = {}
        for (db, table), names in self.tables.items():
            schema.setdefault(db, {})[table] = {name: "text" for name in names}
        return schema
