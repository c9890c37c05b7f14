"""`when` on HTTP facts: methods, paths, and the LLM model/API the plugin recognised."""

from __future__ import annotations

import pytest

from wardgate.policy.commands import CommandClassifier
from wardgate.policy.engine import RulePolicy
from wardgate.policy.model import PolicyConfig
from wardgate.seam import Action, Command, Identity

POLICY = PolicyConfig.model_validate(
    {
        "default": "deny",
        "rules": [
            {
                "name": "cheap-models",
                "when": {
                    "resources": ["llm"],
                    "methods": ["POST"],
                    "paths": ["/v1/chat/*"],
                    "models": ["gpt-4o-mini*", "claude-3-haiku*"],
                },
                "allow": ["all"],
            },
            {"name": "embeddings", "when": {"apis": ["openai.embeddings"]}, "allow": ["write"]},
            {"name": "reads", "when": {"resources": ["llm"]}, "allow": ["read"]},
        ],
    }
)
AGENT = Identity("agent-1", frozenset({"agents"}))


def decide(method: str, path: str, **attributes: str) -> tuple[Action, str]:
    policy = RulePolicy(POLICY, "v1", CommandClassifier())
    command = Command(
        "request",
        f"{method} {path}",
        attributes={"method": method, "path": path, **attributes},
    )
    decision = policy.decide(AGENT, "llm", command)
    return decision.action, decision.rule


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o-mini", (Action.ALLOW, "cheap-models")),
        ("gpt-4o-mini-2024-07-18", (Action.ALLOW, "cheap-models")),
        ("claude-3-haiku-20240307", (Action.ALLOW, "cheap-models")),
        ("gpt-4o", (Action.DENY, "reads")),
        ("", (Action.DENY, "reads")),
    ],
)
def test_models_select_the_rule(model: str, expected: tuple[Action, str]) -> None:
    attributes = {"model": model, "api": "openai.chat"} if model else {}
    assert decide("POST", "/v1/chat/completions", **attributes) == expected


def test_apis_select_the_rule() -> None:
    assert decide("POST", "/v1/embeddings", api="openai.embeddings") == (
        Action.ALLOW,
        "embeddings",
    )


def test_reads_fall_through_to_the_read_rule() -> None:
    assert decide("GET", "/v1/models") == (Action.ALLOW, "reads")
