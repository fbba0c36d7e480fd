"""pg_hba.conf from the declared clients, and the listening addresses the topology needs."""

import pytest
from helpers import compile_with


def build(project, text):
    result = compile_with(project, text)
    assert result.files, result.diagnostics
    return result


def hba_lines(result):
    text = result.files["pg_hba.conf"].decode()
    return [line.split() for line in text.splitlines() if line and not line.startswith("#")]


CLIENTS = """\
clients:
  - {name: monitoring, user: monitor, database: app}
  - {name: backup, user: backup, address: local, method: peer}
  - {name: replica, user: rep, address: 10.0.0.0/24, replication: true}
  - {name: dba, user: all, database: all, address: 10.0.0.7/32}
"""


def test_most_specific_lines_first_and_scram_everywhere_but_peer(project):
    result = build(project, CLIENTS + "postgres:\n  listen_addresses: 10.0.0.5\n  ssl: on\n")
    assert hba_lines(result) == [
        # the environment is monitored: postgres_exporter's own login
        ["local", "postgres", "prometheus", "peer"],
        ["local", "all", "postgres", "peer"],
        ["local", "all", "backup", "peer"],
        ["host", "app", "app", "10.0.0.5/32", "scram-sha-256"],
        ["host", "app", "monitor", "127.0.0.1/32", "scram-sha-256"],
        ["hostssl", "replication", "rep", "10.0.0.0/24", "scram-sha-256"],
        # a client is one role: one named all is quoted, never the keyword for every role
        ["hostssl", "all", '"all"', "10.0.0.7/32", "scram-sha-256"],
    ]


def test_remote_clients_use_host_lines_while_ssl_is_off(project):
    result = build(project, CLIENTS + "postgres:\n  listen_addresses: 10.0.0.5\n"
                   "policy:\n  waivers: [{rule: PCF408, reason: lab network}]\n")
    assert ["host", "replication", "rep", "10.0.0.0/24", "scram-sha-256"] in hba_lines(result)


@pytest.mark.parametrize("text, listen", [
    ("", "'localhost'"),
    ("clients:\n  - {name: m, user: m, address: local, method: peer}\n", "'localhost'"),
    ("clients:\n  - {name: m, user: m, address: 127.0.0.1/32}\n", "'localhost'"),
    ("postgres:\n  listen_addresses: '10.0.0.5'\n  ssl: on\n", "'10.0.0.5'"),
], ids=["no-clients", "local-socket", "loopback", "explicit"])
def test_listen_addresses_is_as_narrow_as_the_clients_allow(project, text, listen):
    conf = build(project, text).files["postgresql.conf"].decode()
    assert f"\nlisten_addresses = {listen}\n" in conf


def test_a_remote_client_leaves_listen_addresses_to_the_preset_with_a_warning(project):
    result = build(project, "clients:\n  - {name: r, user: r, address: 10.0.0.0/24}\n")
    assert "listen_addresses" not in result.files["postgresql.conf"].decode()
    assert [(d.code, d.severity) for d in result.diagnostics if d.code.startswith("PCF4")] == [
        ("PCF416", "warning")]


def test_production_defaults_are_scram_and_admin_users_exist(project):
    result = build(project, "users:\n  - {name: ops, password: '${env:OPS}', admin: true}\n")
    pg, bouncer = (result.files[f].decode() for f in ("postgresql.conf", "pgbouncer.ini"))
    assert "\npassword_encryption = 'scram-sha-256'\n" in pg
    for line in ("auth_type = scram-sha-256", "admin_users = ops", "stats_users = ops",
                 "listen_addr = 127.0.0.1"):
        assert f"\n{line}\n" in bouncer
    assert '"ops" "SCRAM-SHA-256$4096:' in result.files["userlist.txt"].decode()


def test_pgbouncer_lines_allow_the_address_pgbouncer_connects_from(project):
    result = build(project, "postgres:\n  listen_addresses: 10.0.0.5\n  ssl: on\n")
    assert "host=10.0.0.5" in result.files["pgbouncer.ini"].decode()
    assert ["host", "app", "app", "10.0.0.5/32", "scram-sha-256"] in hba_lines(result)
