"""Body maskers for the HTTP plugin's unit tests, over the core's masking engine as
an HTTP session gets it (no gateway, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence

from wardgate.masking.config import CustomDetector, MaskingRule
from wardgate.masking.masker import CommandMasker
from wardgate.masking.planner import MaskingEngine
from wardgate.masking.rules import MaskingRules
from wardgate_http.literals import Literals
from wardgate_http.masker import BodyMasker

KEY = b"unit-test-masking-key"
API_KEY = CustomDetector(
    name="api_key",
    regex=r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{20,}",
    prefix=r"\b[spr](?:k(?:-[A-Za-z0-9_-]*)?)?\Z",
)
RULES = (
    MaskingRule(name="fields", fields=("*.password",), strategy="redact"),
    MaskingRule(
        name="secrets",
        detectors=("aws_access_key", "private_key", "jwt", "credit_card", API_KEY),
        strategy="redact",
    ),
)


def core_masker(rules: Sequence[MaskingRule] = RULES) -> CommandMasker:
    return MaskingEngine(MaskingRules(rules), KEY).masker()


def body_masker(
    rules: Sequence[MaskingRule] = RULES, literals: Sequence[str] = (), fields: bool = True
) -> BodyMasker:
    engine_rules = MaskingRules(rules)
    core = MaskingEngine(engine_rules, KEY).masker()
    return BodyMasker(
        core,
        fields=fields and engine_rules.has_fields,
        detectors=bool(engine_rules.detectors),
        literals=Literals(literals),
    )
