"""`load_config`: every problem a user can make names file, line and dotted key.

The files are written to `tmp_path` exactly as a user would type them, so the line
numbers asserted below are the ones an editor shows.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from wardgate.config import ConfigError, ConfigIssue, LoadedConfig, load_config, parse_listen
from wardgate.config.yamlsource import LineDict, LineList, line_of, load_yaml
from wardgate.plugins import PluginRegistry
from wardgate_postgres.settings import PostgresUpstream

DIGEST = "ab" * 32

PG_RESOURCE = """\
resources:
  - name: orders
    protocol: postgres
    listen: 127.0.0.1:15432
    upstream:
      host: db.internal
      port: 5433
      database: orders
    credentials:
      static: {user: app, password: hunter2}
"""


@dataclass(frozen=True, slots=True)
class EchoUpstream:
    """A plugin's own upstream settings type, as a plugin author would write it."""

    url: str
    retries: int = 3


class EchoPlugin:
    name = "echo"
    dialect = ""
    default_port = 7
    upstream_settings = EchoUpstream

    def create_listener(self, context: Any) -> Any:
        raise NotImplementedError


def write(tmp_path: Path, text: str, name: str = "wg.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def issues_of(path: Path, **kwargs: Any) -> list[ConfigIssue]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, **kwargs)
    return caught.value.issues


def only_issue(path: Path, **kwargs: Any) -> ConfigIssue:
    issues = issues_of(path, **kwargs)
    assert len(issues) == 1, issues
    return issues[0]


@pytest.fixture(scope="module")
def real_plugins() -> PluginRegistry:
    return PluginRegistry()


@pytest.fixture
def echo_plugins() -> PluginRegistry:
    return PluginRegistry({"echo": EchoPlugin()})


# -- a good file -------------------------------------------------------------------------


def test_valid_config_loads_with_plugin_upstream_settings(
    tmp_path: Path, real_plugins: PluginRegistry
) -> None:
    path = write(tmp_path, PG_RESOURCE)
    loaded = load_config(path, plugins=real_plugins)
    assert isinstance(loaded, LoadedConfig)
    assert loaded.path == path
    assert [r.name for r in loaded.config.resources] == ["orders"]
    assert loaded.upstreams["orders"] == PostgresUpstream(
        host="db.internal", port=5433, database="orders"
    )
    assert loaded.config.admin.listen == "127.0.0.1:8080"  # defaults apply


def test_empty_file_is_the_default_config(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, ""), plugins=PluginRegistry({}))
    assert loaded.config.resources == ()
    assert loaded.config.state.url == "sqlite:///wardgate.db"
    assert len(loaded.version) == 16


def test_uppercase_sha256_is_accepted_and_normalised(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""\
        identity:
          tokens:
            - {{name: ci, groups: [agents], sha256: "{DIGEST.upper()}"}}
        """,
    )
    token = load_config(path, plugins=PluginRegistry({})).config.identity.tokens[0]
    assert (token.name, token.groups, token.sha256) == ("ci", ("agents",), DIGEST)


# -- file:line: key: message -------------------------------------------------------------


def test_issue_renders_as_file_line_key_message(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        # comment lines count too
        resources:
          - name: orders
            protocol: postgres
            upstream: {}
            credentials: {static: {user: app}}
            listen: nowhere
        """,
    )
    issue = only_issue(path)
    assert (issue.file, issue.line, issue.key) == (str(path), 7, "resources[0].listen")
    assert str(issue) == f"{path}:7: resources[0].listen: expected host:port, got 'nowhere'"


@pytest.mark.parametrize(
    ("listen", "message"),
    [
        ("nohost", "expected host:port"),
        (":5432", "expected host:port"),
        ("127.0.0.1:http", "bad port"),
        ("127.0.0.1:65536", "bad port"),
        ("127.0.0.1:-1", "bad port"),
    ],
)
def test_bad_listen_address_names_resource_key(
    tmp_path: Path, real_plugins: PluginRegistry, listen: str, message: str
) -> None:
    path = write(tmp_path, PG_RESOURCE.replace("127.0.0.1:15432", f'"{listen}"'))
    issue = only_issue(path, plugins=real_plugins)
    assert (issue.line, issue.key) == (4, "resources[0].listen")
    assert message in issue.message


def test_bad_admin_listen(tmp_path: Path) -> None:
    path = write(tmp_path, "admin:\n  listen: localhost\n")
    issue = only_issue(path, plugins=PluginRegistry({}))
    assert (issue.line, issue.key) == (2, "admin.listen")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:0", ("127.0.0.1", 0)),
        ("[::1]:5432", ("::1", 5432)),
        ("0.0.0.0:65535", ("0.0.0.0", 65535)),
        ("db.internal:1", ("db.internal", 1)),
    ],
)
def test_parse_listen_accepts(value: str, expected: tuple[str, int]) -> None:
    assert parse_listen(value) == expected


@pytest.mark.parametrize("digest", ["zz", "ab" * 31 + "a", "ab" * 32 + "00", "g" * 64, ""])
def test_bad_sha256(tmp_path: Path, digest: str) -> None:
    path = write(
        tmp_path,
        f"""\
        identity:
          tokens:
            - name: ok
              sha256: "{DIGEST}"
            - name: bad
              groups: [agents]
              sha256: "{digest}"
        """,
    )
    issue = only_issue(path, plugins=PluginRegistry({}))
    assert (issue.line, issue.key) == (7, "identity.tokens[1].sha256")
    assert "64 hex digits" in issue.message
    assert "wardgate token create" in issue.message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        admin: {listen: nope}
        state: {url: "mysql://x"}
        limits:
          max_message_bytes: 10
        surprise: true
        """,
    )
    issues = issues_of(path, plugins=PluginRegistry({}))
    assert {(i.line, i.key) for i in issues} == {
        (1, "admin.listen"),
        (2, "state.url"),
        (4, "limits.max_message_bytes"),
        (5, "surprise"),
    }
    with pytest.raises(ConfigError) as caught:
        load_config(path, plugins=PluginRegistry({}))
    assert str(caught.value).splitlines() == [str(i) for i in caught.value.issues]


def test_missing_required_field_points_at_its_parent(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        resources:
          - name: a
            protocol: postgres
            listen: 127.0.0.1:1
            credentials: {static: {user: u}}
          - name: b
            protocol: postgres
            listen: 127.0.0.1:2
        """,
    )
    issue = only_issue(path)
    assert (issue.line, issue.key, issue.message) == (
        6,
        "resources[1].credentials",
        "Field required",
    )


def test_conflicting_password_sources(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        PG_RESOURCE.replace("password: hunter2", "password: hunter2, password_env: PGPASS"),
    )
    issue = only_issue(path)
    assert (issue.line, issue.key) == (10, "resources[0].credentials.static")
    assert "at most one of password" in issue.message


# -- YAML structure ----------------------------------------------------------------------


def test_duplicate_key_names_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        admin:
          listen: 127.0.0.1:1
          listen: 127.0.0.1:2
        """,
    )
    issue = only_issue(path)
    assert issue.line == 3
    assert "duplicate key 'listen'" in issue.message


def test_duplicate_key_names_its_dotted_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        admin:
          listen: 127.0.0.1:1
          listen: 127.0.0.1:2
        """,
    )
    assert only_issue(path).key == "admin.listen"


def test_duplicate_top_level_key(tmp_path: Path) -> None:
    issue = only_issue(write(tmp_path, "admin: {}\nstate: {}\nadmin: {}\n"))
    assert issue.line == 3
    assert "duplicate key 'admin'" in issue.message


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    issue = only_issue(write(tmp_path, "admin:\n  listen: [1, 2\nstate: {}\n"))
    assert issue.file.endswith("wg.yaml")
    assert issue.line >= 2
    assert issue.message.startswith("invalid YAML:")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    issue = only_issue(write(tmp_path, "- admin\n- state\n"))
    assert (issue.line, issue.message) == (1, "the top level must be a mapping")


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    issue = only_issue(path)
    assert (issue.file, issue.line, issue.key) == (str(path), 0, "")
    assert str(issue) == f"{path}: cannot read: No such file or directory"


@pytest.mark.parametrize("section", ["vaults", "policies", "maskings", "Admin"])
def test_unknown_top_level_section_is_refused(tmp_path: Path, section: str) -> None:
    path = write(tmp_path, f"admin: {{}}\n{section}:\n  x: 1\n")
    issue = only_issue(path, plugins=PluginRegistry({}))
    assert (issue.line, issue.key) == (2, section)
    assert "Extra inputs are not permitted" in issue.message


def test_unknown_nested_key_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, PG_RESOURCE.replace("    listen:", "    lisen: x\n    listen:"))
    issue = only_issue(path)
    assert (issue.line, issue.key) == (4, "resources[0].lisen")


# -- duplicate names ---------------------------------------------------------------------

DUPLICATE_RESOURCES = """\
resources:
  - name: pg
    protocol: postgres
    listen: 127.0.0.1:1
    credentials: {static: {user: u}}
  - name: pg
    protocol: postgres
    listen: 127.0.0.1:2
    credentials: {static: {user: u}}
"""


def test_duplicate_resource_names(tmp_path: Path) -> None:
    issue = only_issue(write(tmp_path, DUPLICATE_RESOURCES))
    assert issue.message == "duplicate resource names: pg"


def test_duplicate_resource_names_name_the_second_entry(tmp_path: Path) -> None:
    issue = only_issue(write(tmp_path, DUPLICATE_RESOURCES))
    assert (issue.line, issue.key) == (6, "resources[1].name")


def test_duplicate_token_names(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""\
        identity:
          tokens:
            - {{name: ci, sha256: "{DIGEST}"}}
            - {{name: ops, sha256: "{DIGEST}"}}
            - {{name: ci, sha256: "{"cd" * 32}"}}
        """,
    )
    issue = only_issue(path, plugins=PluginRegistry({}))
    assert issue.key.startswith("identity")
    assert issue.message == "duplicate token names: ci"


# -- protocols and their upstream settings -----------------------------------------------


def test_unknown_protocol_lists_installed_ones(
    tmp_path: Path, real_plugins: PluginRegistry
) -> None:
    path = write(tmp_path, PG_RESOURCE.replace("protocol: postgres", "protocol: postgress"))
    issue = only_issue(path, plugins=real_plugins)
    assert (issue.line, issue.key) == (3, "resources[0].protocol")
    assert issue.message.startswith("unknown protocol 'postgress' (known: ")
    assert "postgres" in issue.message.split("known:")[1]


def test_unknown_protocol_with_injected_registry(
    tmp_path: Path, echo_plugins: PluginRegistry
) -> None:
    issue = only_issue(write(tmp_path, PG_RESOURCE), plugins=echo_plugins)
    assert issue.message == "unknown protocol 'postgres' (known: echo)"
    issue = only_issue(write(tmp_path, PG_RESOURCE), plugins=PluginRegistry({}))
    assert issue.message == "unknown protocol 'postgres' (known: none installed)"


def test_postgres_upstream_validated_with_its_field_names(
    tmp_path: Path, real_plugins: PluginRegistry
) -> None:
    path = write(
        tmp_path,
        """\
        resources:
          - name: orders
            protocol: postgres
            listen: 127.0.0.1:15432
            upstream:
              host: db
              port: fivefourthreetwo
              tls: sometimes
              hostname: db
            credentials: {static: {user: u}}
        """,
    )
    issues = issues_of(path, plugins=real_plugins)
    found = {issue.key: issue for issue in issues}
    assert set(found) == {
        "resources[0].upstream.port",
        "resources[0].upstream.tls",
        "resources[0].upstream.hostname",
    }
    assert found["resources[0].upstream.port"].line == 7
    assert "valid integer" in found["resources[0].upstream.port"].message
    assert found["resources[0].upstream.tls"].line == 8
    assert "'verify-full'" in found["resources[0].upstream.tls"].message
    assert found["resources[0].upstream.hostname"].line == 9


def test_dataclass_plugin_upstream_validated_with_its_field_names(
    tmp_path: Path, echo_plugins: PluginRegistry
) -> None:
    path = write(
        tmp_path,
        """\
        resources:
          - name: e
            protocol: echo
            listen: 127.0.0.1:7
            upstream:
              retries: lots
              host: x
            credentials: {static: {user: u}}
        """,
    )
    found = {i.key: (i.line, i.message) for i in issues_of(path, plugins=echo_plugins)}
    assert found["resources[0].upstream.url"] == (5, "Field required")
    assert found["resources[0].upstream.retries"][0] == 6
    assert found["resources[0].upstream.host"][0] == 7
    assert len(found) == 3


def test_dataclass_plugin_upstream_coerces_and_defaults(
    tmp_path: Path, echo_plugins: PluginRegistry
) -> None:
    text = PG_RESOURCE.replace("postgres", "echo").replace(
        "      host: db.internal\n      port: 5433\n      database: orders\n",
        '      url: "http://x"\n      retries: "5"\n',
    )
    loaded = load_config(write(tmp_path, text), plugins=echo_plugins)
    assert loaded.upstreams == {"orders": EchoUpstream(url="http://x", retries=5)}


def test_upstream_errors_reported_for_each_resource(
    tmp_path: Path, real_plugins: PluginRegistry
) -> None:
    path = write(
        tmp_path,
        """\
        resources:
          - {name: a, protocol: postgres, listen: "127.0.0.1:1", credentials: {static: {user: u}},
             upstream: {port: x}}
          - {name: b, protocol: nope, listen: "127.0.0.1:2", credentials: {static: {user: u}}}
        """,
    )
    keys = [issue.key for issue in issues_of(path, plugins=real_plugins)]
    assert keys == ["resources[0].upstream.port", "resources[1].protocol"]


# -- ${env:…} / ${file:…} ----------------------------------------------------------------


def test_env_reference_resolves_before_validation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_plugins: PluginRegistry
) -> None:
    monkeypatch.setenv("WG_TEST_PGPORT", "6543")
    monkeypatch.setenv("WG_TEST_PW", "s3cret")
    text = PG_RESOURCE.replace("port: 5433", 'port: "${env:WG_TEST_PGPORT}"').replace(
        "password: hunter2", 'password: "pre-${env:WG_TEST_PW}-post"'
    )
    loaded = load_config(write(tmp_path, text), plugins=real_plugins)
    assert loaded.upstreams["orders"].port == 6543
    static = loaded.config.resources[0].credentials.static
    assert static is not None
    assert static.password == "pre-s3cret-post"


def test_missing_env_var_names_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WG_TEST_UNSET", raising=False)
    text = PG_RESOURCE.replace("password: hunter2", 'password: "${env:WG_TEST_UNSET}"')
    issue = only_issue(write(tmp_path, text))
    assert (issue.line, issue.key) == (10, "resources[0].credentials.static.password")
    assert issue.message == "environment variable 'WG_TEST_UNSET' is not set"


def test_file_reference_is_relative_to_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_plugins: PluginRegistry
) -> None:
    config_dir = tmp_path / "conf"
    config_dir.mkdir()
    (config_dir / "pw.txt").write_text("from-file\n\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # relative to the config file, not the working directory
    text = PG_RESOURCE.replace("password: hunter2", 'password: "${file:pw.txt}"')
    loaded = load_config(write(config_dir, text), plugins=real_plugins)
    static = loaded.config.resources[0].credentials.static
    assert static is not None
    assert static.password == "from-file"


def test_unreadable_file_reference_names_key(tmp_path: Path) -> None:
    text = PG_RESOURCE.replace("password: hunter2", 'password: "${file:missing.txt}"')
    issue = only_issue(write(tmp_path, text))
    assert (issue.line, issue.key) == (10, "resources[0].credentials.static.password")
    assert str(tmp_path / "missing.txt") in issue.message
    assert "cannot read" in issue.message


def test_reference_in_list_item_names_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WG_TEST_UNSET", raising=False)
    text = PG_RESOURCE.replace(
        "    credentials:",
        '    databases:\n      - orders\n      - "${env:WG_TEST_UNSET}"\n    credentials:',
    )
    issue = only_issue(write(tmp_path, text))
    assert (issue.line, issue.key) == (11, "resources[0].databases[1]")


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("${vault:secret/db#pw}", "needs the `vault` section"),
        ("${bogus:x}", "unknown reference scheme 'bogus'"),
    ],
)
def test_other_reference_errors_name_key(tmp_path: Path, reference: str, message: str) -> None:
    text = PG_RESOURCE.replace("password: hunter2", f'password: "{reference}"')
    issue = only_issue(write(tmp_path, text))
    assert issue.key == "resources[0].credentials.static.password"
    assert message in issue.message


def test_resolved_values_are_not_expanded_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_plugins: PluginRegistry
) -> None:
    monkeypatch.setenv("WG_TEST_PW", "${file:/etc/passwd}")
    text = PG_RESOURCE.replace("password: hunter2", 'password: "${env:WG_TEST_PW}"')
    static = load_config(write(tmp_path, text), plugins=real_plugins).config.resources[0]
    assert static.credentials.static is not None
    assert static.credentials.static.password == "${file:/etc/passwd}"


def test_injected_resolvers_are_used(tmp_path: Path, real_plugins: PluginRegistry) -> None:
    text = PG_RESOURCE.replace("password: hunter2", 'password: "${env:ANY}"')
    loaded = load_config(
        write(tmp_path, text), plugins=real_plugins, resolvers={"env": lambda name: name.lower()}
    )
    assert loaded.config.resources[0].credentials.static is not None
    assert loaded.config.resources[0].credentials.static.password == "any"


# -- policy_version ----------------------------------------------------------------------


def _version(tmp_path: Path, text: str, name: str) -> str:
    return load_config(write(tmp_path, text, name), plugins=PluginRegistry()).version


def test_policy_version_is_stable_across_key_order_and_formatting(tmp_path: Path) -> None:
    reordered = """\
    # the same configuration, keys in another order, flow style and comments
    resources:
      - credentials: {static: {password: hunter2, user: app}}
        upstream: {database: orders, port: 5433, host: db.internal}
        listen: 127.0.0.1:15432   # the agents' port
        protocol: postgres
        name: orders
    """
    first = _version(tmp_path, PG_RESOURCE, "a.yaml")
    assert first == _version(tmp_path, reordered, "b.yaml")
    assert len(first) == 16
    assert int(first, 16) >= 0


def test_policy_version_changes_with_the_policy_only(tmp_path: Path) -> None:
    first = _version(tmp_path, PG_RESOURCE, "a.yaml")
    assert first == _version(tmp_path, PG_RESOURCE.replace("5433", "5434"), "b.yaml")
    policy = PG_RESOURCE + "policy: {default: allow}\n"
    assert first != _version(tmp_path, policy, "c.yaml")


def test_policy_version_is_of_the_normalized_policy(tmp_path: Path) -> None:
    rule = "policy: {rules: [{name: r, allow: [read], review_timeout: %s}]}\n"
    assert _version(tmp_path, PG_RESOURCE + rule % "5m", "a.yaml") == _version(
        tmp_path, PG_RESOURCE + rule % "300", "b.yaml"
    )
    explicit = PG_RESOURCE + "policy: {default: deny, rules: []}\n"
    assert _version(tmp_path, PG_RESOURCE, "c.yaml") == _version(tmp_path, explicit, "d.yaml")


def test_config_version_changes_with_any_content(tmp_path: Path) -> None:
    def whole(text: str, name: str) -> str:
        return load_config(write(tmp_path, text, name), plugins=PluginRegistry()).config_version

    first = whole(PG_RESOURCE, "a.yaml")
    assert len(first) == 16
    assert first != whole(PG_RESOURCE.replace("5433", "5434"), "b.yaml")
    assert first != whole(PG_RESOURCE + "admin: {listen: 127.0.0.1:9000}\n", "c.yaml")


# -- yamlsource --------------------------------------------------------------------------


def test_yamlsource_tracks_lines_of_keys_and_items() -> None:
    tree = load_yaml("a:\n  b:\n    - x\n    - c: 1\n      d: 2\ne: 3\n")
    assert isinstance(tree, LineDict)
    assert tree.key_lines == {"a": 1, "e": 6}
    items = tree["a"]["b"]
    assert isinstance(items, LineList)
    assert items.item_lines == [3, 4]
    assert line_of(tree, ("a", "b", 1, "d")) == 5
    assert line_of(tree, ("e",)) == 6


def test_line_of_stops_at_the_deepest_known_node() -> None:
    tree = load_yaml("a:\n  b:\n    - x\n")
    assert line_of(tree, ("a", "b", 7, "z")) == 2
    assert line_of(tree, ("a", "missing")) == 1
    assert line_of(tree, ("nothing",)) == 1
    assert line_of(tree, ()) == 1


def test_yamlsource_uses_safe_loader() -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match="python/object"):
        load_yaml("a: !!python/object/apply:os.system ['true']\n")


def test_non_string_keys_become_strings() -> None:
    tree = load_yaml("1: a\ntrue: b\n")
    assert set(tree) == {"1", "True"}
