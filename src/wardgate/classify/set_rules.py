"""SET and RESET: which settings only tune the caller's session, and which do more.

Rules are by *setting name* only, never by value: a value is a literal, literals are
not in the fingerprint, so ``SET sql_mode = 'ANSI_QUOTES'`` and ``SET sql_mode =
'TRADITIONAL'`` must classify alike (fingerprint.py). Three groups:

- settings that change how later statements are *lexed* (``standard_conforming_strings``,
  ``backslash_quote``, client character sets, ``sql_mode``): ``admin``, so the policy
  refuses them by default and the classifier's `ParseSettings` stay true;
- settings that change *who* is acting or what is logged or enforced (``role``,
  ``session_authorization``, ``session_replication_role``, ``sql_log_bin``,
  ``foreign_key_checks``, custom ``app.*`` settings that row-level security reads):
  ``admin``;
- an allow-list of settings that only tune the session (timeouts, time zone, output
  formats, planner knobs): ``session``. Anything not listed is ``admin`` — fail closed.

MySQL ``SET`` values may be expressions (``SET @a = (SELECT …)``); they are analysed
like a SELECT list, so a function call or a subquery in a SET is seen.
"""

from __future__ import annotations

from wardgate.classify.draft import Draft
from wardgate.classify.lexer import PUNCT, VAR, Token
from wardgate.classify.model import Kind, words
from wardgate.classify.parsing import (
    Env,
    at,
    parse_expressions,
    punct,
    qualified_name,
    simple_tail,
    split_top_level,
    word,
)

PG_SESSION_SETTINGS = words("""
    application_name search_path schema statement_timeout lock_timeout
    idle_in_transaction_session_timeout idle_session_timeout transaction_timeout timezone
    datestyle intervalstyle extra_float_digits client_min_messages
    default_transaction_isolation default_transaction_read_only
    default_transaction_deferrable transaction_isolation transaction_read_only
    transaction_deferrable work_mem maintenance_work_mem temp_buffers hash_mem_multiplier
    random_page_cost seq_page_cost cpu_tuple_cost cpu_index_tuple_cost cpu_operator_cost
    parallel_setup_cost parallel_tuple_cost effective_cache_size jit jit_above_cost
    jit_inline_above_cost jit_optimize_above_cost plan_cache_mode geqo geqo_threshold
    join_collapse_limit from_collapse_limit default_statistics_target constraint_exclusion
    cursor_tuple_fraction bytea_output xmlbinary xmloption lc_monetary lc_numeric lc_time
    default_text_search_config gin_fuzzy_search_limit array_nulls
    quote_all_identifiers seed synchronize_seqscans max_parallel_workers_per_gather
    max_parallel_maintenance_workers enable_partitionwise_join enable_partitionwise_aggregate
    check_function_bodies default_tablespace temp_tablespaces timezone_abbreviations
    escape_string_warning default_toast_compression gin_pending_list_limit
    vacuum_cost_delay vacuum_cost_limit statement_mem commit_delay
    """)
PG_SESSION_PREFIXES = ("enable_",)

MYSQL_SESSION_SETTINGS = words("""
    autocommit transaction_isolation tx_isolation transaction_read_only tx_read_only
    time_zone max_execution_time max_statement_time wait_timeout interactive_timeout
    net_read_timeout net_write_timeout lock_wait_timeout innodb_lock_wait_timeout
    sql_select_limit group_concat_max_len max_join_size sql_big_selects sql_auto_is_null
    div_precision_increment lc_time_names lc_messages sql_notes sql_warnings
    sql_quote_show_create sql_buffer_result optimizer_search_depth optimizer_prune_level
    eq_range_index_dive_limit sort_buffer_size join_buffer_size read_buffer_size
    read_rnd_buffer_size tmp_table_size max_heap_table_size cte_max_recursion_depth
    profiling profiling_history_size sql_safe_updates big_tables default_week_format
    default_storage_engine default_tmp_storage_engine explicit_defaults_for_timestamp
    max_sort_length max_seeks_for_key optimizer_switch optimizer_trace
    optimizer_trace_max_mem_size end_markers_in_json innodb_strict_mode
    transaction_prealloc_size range_optimizer_max_mem_size windowing_use_high_precision
    information_schema_stats_expiry completion_type
    """)

#: Settings whose change would make the classifier lex later statements wrongly.
PARSE_SETTINGS = words("""
    standard_conforming_strings backslash_quote client_encoding names sql_mode
    character_set_client character_set_connection character_set_results
    collation_connection charset character_set
    """)

_PG_SPECIAL: dict[tuple[str, ...], tuple[Kind, str]] = {
    ("TRANSACTION",): (Kind.SESSION, "sets transaction characteristics"),
    ("SESSION", "CHARACTERISTICS"): (Kind.SESSION, "sets transaction characteristics"),
    ("CONSTRAINTS",): (Kind.SESSION, "sets constraint timing"),
    ("TIME", "ZONE"): (Kind.SESSION, "sets the time zone"),
    ("XML", "OPTION"): (Kind.SESSION, "sets the XML option"),
    ("SCHEMA",): (Kind.SESSION, "sets the schema search path"),
    ("ROLE",): (Kind.ADMIN, "changes the acting role"),
    ("SESSION", "AUTHORIZATION"): (Kind.ADMIN, "changes the session user"),
    ("NAMES",): (Kind.ADMIN, "changes the client encoding, which changes how text is read"),
}

_MY_SPECIAL: dict[tuple[str, ...], tuple[Kind, str]] = {
    ("TRANSACTION",): (Kind.SESSION, "sets transaction characteristics"),
    ("PASSWORD",): (Kind.ADMIN, "changes a password"),
    ("ROLE",): (Kind.ADMIN, "changes the active roles"),
    ("DEFAULT", "ROLE"): (Kind.ADMIN, "changes default roles"),
    ("RESOURCE", "GROUP"): (Kind.ADMIN, "changes a resource group"),
    ("NAMES",): (Kind.ADMIN, "changes the client character set, which changes how text is read"),
    ("CHARACTER", "SET"): (Kind.ADMIN, "changes the client character set"),
    ("CHARSET",): (Kind.ADMIN, "changes the client character set"),
}

_MY_GLOBAL_SCOPES = frozenset({"GLOBAL", "PERSIST", "PERSIST_ONLY"})


#: Settings that change who acts, what is enforced or what the server records.
PRIVILEGED_SETTINGS: dict[str, str] = {
    "role": "changes the acting role",
    "session_authorization": "changes the session user",
    "session_replication_role": "disables triggers and foreign-key checks",
    "row_security": "changes row-level security enforcement",
    "sql_log_bin": "hides statements from the binary log",
    "sql_log_off": "hides statements from the general log",
    "foreign_key_checks": "disables foreign-key checks",
    "unique_checks": "disables unique checks",
    "pseudo_thread_id": "impersonates another connection in the logs",
    "gtid_next": "controls replication identifiers",
    "timestamp": "changes the server clock for the session",
}


def setting_kind(name: str, dialect: str) -> tuple[Kind, str]:
    """The kind of changing setting `name` for the session, and why."""
    name = name.lower()
    if name in PRIVILEGED_SETTINGS:
        return Kind.ADMIN, f"setting {name} {PRIVILEGED_SETTINGS[name]}"
    if name.startswith("log_") and dialect == "postgres":
        return Kind.ADMIN, f"setting {name} changes what the server logs"
    if name in PARSE_SETTINGS:
        return Kind.ADMIN, f"setting {name} changes how later statements are parsed"
    if dialect == "postgres":
        if "." in name:
            return Kind.ADMIN, f"custom setting {name} may drive row-level security"
        if name in PG_SESSION_SETTINGS or name.startswith(PG_SESSION_PREFIXES):
            return Kind.SESSION, f"sets {name} for the session"
    elif name in MYSQL_SESSION_SETTINGS:
        return Kind.SESSION, f"sets {name} for the session"
    return Kind.ADMIN, f"setting {name} is not on the session allow-list"


def _special(
    tokens: list[Token], table: dict[tuple[str, ...], tuple[Kind, str]]
) -> tuple[Kind, str] | None:
    for keys, verdict in table.items():
        if all(word(at(tokens, i), key) for i, key in enumerate(keys)):
            return verdict
    return None


# --------------------------------------------------------------------------- PostgreSQL


def pg_set(tokens: list[Token], env: Env, draft: Draft) -> None:
    body = tokens[1:]
    if word(at(body, 0), "LOCAL") or (
        word(at(body, 0), "SESSION") and not word(at(body, 1), "AUTHORIZATION", "CHARACTERISTICS")
    ):
        body = body[1:]
    if not simple_tail(body):
        draft.unknown("SET value is not a plain literal or name")
        return
    verdict = _special(body, _PG_SPECIAL)
    if verdict is None:
        parts, after = qualified_name(body, 0)
        if not parts or not (word(at(body, after), "TO") or punct(at(body, after), "=")):
            draft.unknown("unrecognised SET form")
            return
        verdict = setting_kind(".".join(parts), env.dialect)
    draft.at_least(*verdict)


def pg_reset(tokens: list[Token], env: Env, draft: Draft) -> None:
    body = tokens[1:]
    if not simple_tail(body) or not body:
        draft.unknown("unrecognised RESET form")
    elif word(at(body, 0), "ALL") and len(body) == 1:
        draft.at_least(Kind.SESSION, "RESET ALL restores session defaults")
    elif word(at(body, 0), "SESSION") and word(at(body, 1), "AUTHORIZATION"):
        draft.at_least(Kind.ADMIN, "changes the session user")
    else:
        parts, after = qualified_name(body, 0)
        if after != len(body):
            draft.unknown("unrecognised RESET form")
        else:
            draft.at_least(*setting_kind(".".join(parts), env.dialect))


# --------------------------------------------------------------------------- MySQL


def mysql_set(tokens: list[Token], env: Env, draft: Draft) -> None:
    body = tokens[1:]
    if word(at(body, 0), "STATEMENT"):
        _set_statement(body[1:], env, draft)
        return
    scope_global = word(at(body, 0), *_MY_GLOBAL_SCOPES)
    rest = body[1:] if word(at(body, 0), "GLOBAL", "SESSION", "LOCAL", *_MY_GLOBAL_SCOPES) else body
    verdict = _special(rest, _MY_SPECIAL)
    if verdict is not None:
        kind, why = verdict
        draft.at_least(Kind.ADMIN if scope_global else kind, why)
        _rhs(rest, env, draft)
        return
    for item in split_top_level(body):
        _set_item(item, env, draft)


def _set_item(item: list[Token], env: Env, draft: Draft) -> None:
    scope = "SESSION"
    if word(at(item, 0), "GLOBAL", "SESSION", "LOCAL", *_MY_GLOBAL_SCOPES):
        scope, item = item[0].key, item[1:]
    target = at(item, 0)
    if target is None:
        draft.unknown("empty SET item")
        return
    if target.kind == VAR and target.text.startswith("@@"):
        scope, name, after = _system_var(target.text)
    elif target.kind == VAR:
        name, after = "", 1
        draft.at_least(Kind.SESSION, "sets a user variable")
    else:
        parts, after = qualified_name(item, 0)
        name = ".".join(parts)
    if not (punct(at(item, after), "=") or punct(at(item, after), ":=")):
        draft.unknown("unrecognised SET item")
        return
    if name:
        kind, why = setting_kind(name, env.dialect)
        if scope in _MY_GLOBAL_SCOPES:
            kind, why = Kind.ADMIN, f"sets {name.lower()} for the whole server"
        draft.at_least(kind, why)
    _rhs(item[after + 1 :], env, draft)


_MY_SCOPES = frozenset({"GLOBAL", "SESSION", "LOCAL", "PERSIST", "PERSIST_ONLY"})


def _system_var(text: str) -> tuple[str, str, int]:
    """``@@[scope.]name`` → (scope, name, tokens used); names may contain dots."""
    scope, _, name = text[2:].partition(".")
    if name and scope.upper() in _MY_SCOPES:
        return scope.upper(), name, 1
    return "SESSION", text[2:], 1


def _rhs(tokens: list[Token], env: Env, draft: Draft) -> None:
    """Analyse a value that may compute: a call or a subquery needs a parse."""
    if any(t.kind == PUNCT and t.text == "(" for t in tokens):
        sub = Draft()
        parse_expressions(tokens, env, sub)
        draft.merge(sub)


def _set_statement(body: list[Token], env: Env, draft: Draft) -> None:
    """MariaDB ``SET STATEMENT var = value [, …] FOR statement``."""
    depth, split = 0, -1
    for index, token in enumerate(body):
        depth += (token.text == "(") - (token.text == ")") if token.kind == PUNCT else 0
        if depth == 0 and word(token, "FOR"):
            split = index
            break
    if split < 0:
        draft.unknown("SET STATEMENT without FOR")
        return
    for item in split_top_level(body[:split]):
        _set_item(item, env, draft)
    draft.merge(env.sub(body[split + 1 :]))
