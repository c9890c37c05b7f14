"""A catalog and rules shared by the masking unit tests (no I/O)."""

from __future__ import annotations

import pytest

from wardgate.catalog.index import CatalogIndex
from wardgate.masking.config import MaskingRule
from wardgate.masking.planner import MaskingEngine
from wardgate.masking.rules import MaskingRules
from wardgate.seam import CatalogColumn, CatalogFunction, CatalogSnapshot, CatalogView

TABLES = {
    "customers": ["id", "email", "name", "ssn", "card", "notes", "password"],
    "orders": ["id", "customer_id", "total", "note"],
    "v_contacts": ["contact", "who"],
    "v_deep": ["c"],
}
OIDS = {"customers": 16400, "orders": 16500, "v_contacts": 16600, "v_deep": 16700}
VIEWS = {
    "v_contacts": "SELECT customers.email AS contact, customers.name AS who FROM customers;",
    "v_deep": "SELECT upper(v_contacts.contact) AS c FROM v_contacts;",
}
KEY = b"unit-test-masking-key"


def snapshot(schema: str = "public") -> CatalogSnapshot:
    columns = tuple(
        CatalogColumn(schema, table, name, "text", position + 1)
        for table, names in TABLES.items()
        for position, name in enumerate(names)
    )
    views = tuple(CatalogView(schema, name, sql) for name, sql in VIEWS.items())
    functions = (CatalogFunction(schema, "get_email", "volatile"),)
    oids = {oid: (schema, table) for table, oid in OIDS.items()}
    return CatalogSnapshot(columns, functions, views, oids)


RULES = (
    MaskingRule(name="pii", columns=("customers.email", "customers.ssn"), strategy="partial"),
    MaskingRule(name="secret", columns=("*.password",), strategy="null"),
    MaskingRule(
        name="detect",
        detectors=("credit_card", "email", "aws_access_key", "private_key", "jwt"),
        strategy="redact",
    ),
)


@pytest.fixture
def index() -> CatalogIndex:
    return CatalogIndex.from_snapshot(snapshot(), "public")


@pytest.fixture
def mysql_index() -> CatalogIndex:
    return CatalogIndex.from_snapshot(snapshot("shop"), "shop")


@pytest.fixture
def engine() -> MaskingEngine:
    return MaskingEngine(MaskingRules(RULES), KEY)
