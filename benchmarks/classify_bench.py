"""Classifier cost per statement: cold (parse) path vs cached (fingerprint) path.

Run: ``python benchmarks/classify_bench.py [--rounds 7] [--variants 200]``

For each dialect, a workload of typical agent statements (reads, writes, DDL,
session statements, bypass attempts) is classified:

- ``cold``: a fresh classifier per round, every shape seen for the first time — lex,
  fingerprint, re-lex the fingerprint, rules, sqlglot parse, tree walk;
- ``cached``: a warm classifier fed the same shapes with *different literals* every
  time (so no exact-text shortcut could help): lex, fingerprint, cache lookup, resolve;
- ``fingerprint``: lexing and fingerprinting alone (the floor of the cached path);
- ``sqlglot``: ``sqlglot.parse`` alone on the original text, for reference;
- ``policy_cold`` / ``policy_cached``: the same two paths through the policy
  (`RulePolicy.evaluate`: command classification, first matching rule, decision);
- ``policy_either``: the cached path when the server's parse settings are not known
  yet (a pipelined command): the text is classified under both settings.

Prints µs per statement (median over rounds) and writes
``benchmarks/results/classify_bench.json`` and a PNG next to it.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks.…` and `wardgate` importable
    ROOT = Path(__file__).resolve().parents[1]
    sys.path[:0] = [str(ROOT), str(ROOT / "src")]

import sqlglot
from benchmarks.common.plot import bar_panels
from benchmarks.common.results import RESULTS_DIR, run_metadata, write_json
from benchmarks.common.stats import summary

from wardgate.classify import Classifier, ParseSettings, statement_fingerprint
from wardgate.classify.fingerprint import split_statements
from wardgate.classify.lexer import lex
from wardgate.policy.commands import CommandClassifier
from wardgate.policy.engine import RulePolicy
from wardgate.policy.model import PolicyConfig, Rule
from wardgate.seam import Command, Identity

AGENT = Identity("agent", frozenset({"agents"}))
RULES = PolicyConfig(
    rules=(
        Rule(
            name="agents",
            allow=("read", "session"),
            review=("write",),
            deny=("ddl", "admin", "unknown"),
            max_rows=1000,
        ),
    )
)
#: The attribute that says the lexing setting is still unknown (both readings).
EITHER = {"postgres": "standard_conforming_strings", "mysql": "ansi_quotes"}

WORKLOAD: dict[str, list[str]] = {
    "postgres": [
        "SELECT id, email, created_at FROM customers WHERE id = {n}",
        "SELECT o.id, o.total, c.email FROM orders o JOIN customers c ON c.id = o.customer_id "
        "WHERE o.created_at > now() - interval '{n} days' ORDER BY o.total DESC LIMIT {n}",
        "SELECT date_trunc('day', ts) AS d, count(*), sum(amount) FROM payments "
        "WHERE status = '{s}' GROUP BY 1 ORDER BY 1",
        "WITH recent AS (SELECT * FROM orders WHERE total > {n}) SELECT count(*) FROM recent",
        "SELECT * FROM information_schema.columns WHERE table_name = '{s}'",
        "INSERT INTO events (kind, payload) VALUES ('{s}', '{s}'), ('{s}', '{s}')",
        "UPDATE orders SET status = '{s}' WHERE id = {n}",
        "DELETE FROM sessions WHERE expires_at < now() - interval '{n} hours'",
        "WITH gone AS (DELETE FROM orders WHERE id = {n} RETURNING *) SELECT * FROM gone",
        "EXPLAIN ANALYZE UPDATE t SET a = {n} WHERE id = {n}",
        "SELECT pg_sleep({n})",
        "SELECT my_report('{s}', {n})",
        "BEGIN",
        "SET statement_timeout = '{n}s'",
        "COPY (SELECT * FROM orders WHERE id > {n}) TO STDOUT WITH (FORMAT csv)",
        "SELECT 1; DELETE FROM t WHERE a = '{s}'",
    ],
    "mysql": [
        "SELECT id, email, created_at FROM customers WHERE id = {n}",
        "SELECT o.id, o.total, c.email FROM orders o JOIN customers c ON c.id = o.customer_id "
        "WHERE o.created_at > DATE_SUB(NOW(), INTERVAL {n} DAY) ORDER BY o.total DESC LIMIT {n}",
        "SELECT DATE(ts) AS d, COUNT(*), SUM(amount) FROM payments WHERE status = '{s}' GROUP BY d",
        "SELECT * FROM information_schema.columns WHERE table_name = '{s}'",
        "INSERT INTO events (kind, payload) VALUES ('{s}', '{s}'), ('{s}', '{s}')",
        "UPDATE orders SET status = '{s}' WHERE id = {n}",
        "DELETE FROM sessions WHERE expires_at < NOW() LIMIT {n}",
        "SELECT * FROM t WHERE a = '{s}' AND SLEEP({n})",
        "SELECT a INTO OUTFILE '/tmp/{s}' FROM t",
        "SELECT 1 /*!50000 , SLEEP({n}) */",
        "SET autocommit = {n}",
        "START TRANSACTION",
        "SELECT 1; UPDATE t SET a = '{s}'",
    ],
}


def variant(template: str, rng: random.Random) -> str:
    text = template
    while "{n}" in text:
        text = text.replace("{n}", str(rng.randint(1, 10**6)), 1)
    while "{s}" in text:
        text = text.replace("{s}", f"v{rng.randint(1, 10**9)}", 1)
    return text


def per_statement_us(run: Callable[[], int]) -> float:
    start = time.perf_counter()
    count = run()
    return (time.perf_counter() - start) / count * 1e6


def cold(dialect: str, texts: list[str]) -> float:
    classifier = Classifier()

    def run() -> int:
        for text in texts:
            classifier.classify(text, dialect)
        return len(texts)

    return per_statement_us(run)


def cached(dialect: str, warm: Classifier, texts: list[str]) -> float:
    def run() -> int:
        for text in texts:
            warm.classify(text, dialect)
        return len(texts)

    return per_statement_us(run)


def policy() -> RulePolicy:
    return RulePolicy(RULES, "bench", CommandClassifier(Classifier()))


def through_policy(
    engine: RulePolicy, dialect: str, texts: list[str], either: bool = False
) -> float:
    attributes = {EITHER[dialect]: "either"} if either else {}
    commands = [Command("query", text, dialect, attributes=attributes) for text in texts]

    def run() -> int:
        for command in commands:
            engine.evaluate(AGENT, "db", command)
        return len(commands)

    return per_statement_us(run)


def fingerprint_only(dialect: str, texts: list[str]) -> float:
    settings = ParseSettings()

    def run() -> int:
        for text in texts:
            for statement in split_statements(lex(text, dialect, settings).tokens):
                statement_fingerprint(statement, dialect)
        return len(texts)

    return per_statement_us(run)


def sqlglot_only(dialect: str, texts: list[str]) -> float:
    def run() -> int:
        for text in texts:
            try:
                sqlglot.parse(text, read=dialect)
            except sqlglot.errors.ParseError:
                pass
        return len(texts)

    return per_statement_us(run)


def measure(dialect: str, rounds: int, variants: int, rng: random.Random) -> dict[str, Any]:
    templates = WORKLOAD[dialect]
    warm = Classifier()
    for template in templates:
        warm.classify(variant(template, rng), dialect)
    warm_policy = policy()
    through_policy(warm_policy, dialect, [variant(t, rng) for t in templates])
    through_policy(warm_policy, dialect, [variant(t, rng) for t in templates], either=True)
    names = ("cold", "cached", "fingerprint", "sqlglot", "policy_cold", "policy_cached")
    samples: dict[str, list[float]] = {name: [] for name in (*names, "policy_either")}
    for _ in range(rounds):
        shapes = [variant(t, rng) for t in templates]
        fresh = [variant(rng.choice(templates), rng) for _ in range(variants)]
        samples["cold"].append(cold(dialect, shapes))
        samples["cached"].append(cached(dialect, warm, fresh))
        samples["fingerprint"].append(fingerprint_only(dialect, fresh))
        samples["sqlglot"].append(sqlglot_only(dialect, shapes))
        samples["policy_cold"].append(through_policy(policy(), dialect, shapes))
        samples["policy_cached"].append(through_policy(warm_policy, dialect, fresh))
        samples["policy_either"].append(through_policy(warm_policy, dialect, fresh, True))
    return {
        "statements_per_round": {"cold": len(templates), "cached": variants},
        "us_per_statement": {name: summary(values) for name, values in samples.items()},
        "samples": samples,
        "parses_on_cached_path": warm.cache.stats.misses - len(templates),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--variants", type=int, default=500, help="cached-path statements per round"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    results = {dialect: measure(dialect, args.rounds, args.variants, rng) for dialect in WORKLOAD}
    print(f"{'dialect':10} {'path':12} {'median µs/stmt':>15} {'max':>10}")
    for dialect, result in results.items():
        for path, stats in result["us_per_statement"].items():
            print(f"{dialect:10} {path:12} {stats['median']:15.1f} {stats['max']:10.1f}")
        cold_us = result["us_per_statement"]["cold"]["median"]
        hot_us = result["us_per_statement"]["cached"]["median"]
        print(f"{dialect:10} speed-up of the cached path: {cold_us / hot_us:.1f}x")
    out = write_json(
        RESULTS_DIR / "classify_bench.json",
        {"meta": run_metadata(), "sqlglot": sqlglot.__version__, "results": results},
    )
    print(f"results written to {out}")
    panels = [
        (f"{dialect}: µs per statement", result["samples"]) for dialect, result in results.items()
    ]
    print(
        bar_panels(RESULTS_DIR / "classify_bench.png", "wardgate classify: cold vs cached", panels)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
