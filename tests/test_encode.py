"""Each encoder refuses or escapes every hazard of its format; the cases below are the list."""

import shlex

import pytest

from perfcfg.core import encoding
from perfcfg.core.encoding import EncodeError
from perfcfg.services.catalog import Param
from perfcfg.services.pgbouncer import encode as bnc_enc
from perfcfg.services.postgres import encode as pg_enc
from perfcfg.services.redis import encode as redis_enc
from perfcfg.services.supervisor import encode as sup_enc

STRING = Param("application_name", "string")
MEMORY_8K = Param("shared_buffers", "integer", unit="8kB")
TIME_MS = Param("statement_timeout", "integer", unit="ms")
ENUM = Param("wal_level", "enum", values=("minimal", "replica", "logical"))


@pytest.mark.parametrize("value, written", [
    ("plain", "'plain'"), ("it's", "'it''s'"), ("C:\\tmp", "'C:\\\\tmp'"), ("a#b", "'a#b'"),
    ("%m [%p] ", "'%m [%p] '"),
])
def test_postgres_strings_are_quoted_and_escaped(value, written):
    assert pg_enc.pg_value(STRING, value) == written
    assert pg_enc.decode_pg_string(written) == value


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\x00b", "tab\there", "caf\u00e9"])
def test_postgres_refuses_what_it_cannot_carry(value):
    with pytest.raises(EncodeError):
        pg_enc.pg_value(STRING, value)


@pytest.mark.parametrize("param, value, written", [
    (MEMORY_8K, 4 << 30, "4GB"), (MEMORY_8K, 2553 << 20, "2553MB"), (MEMORY_8K, 8192, "8kB"),
    (TIME_MS, 60_000_000, "1min"), (TIME_MS, 250_000, "250ms"), (TIME_MS, -1, "-1"),
    (ENUM, "replica", "replica"), (Param("huge_pages", "enum", values=("on", "off", "try")), "try", "try"),
    (Param("random_page_cost", "real"), 1.1, "1.1"), (Param("random_page_cost", "real"), 4.0, "4"),
    (Param("fsync", "bool"), True, "on"), (Param("port", "integer"), 5432, "5432"),
])
def test_postgres_numbers_use_the_coarsest_exact_unit(param, value, written):
    assert pg_enc.pg_value(param, value) == written


@pytest.mark.parametrize("param, value", [(MEMORY_8K, 4096), (TIME_MS, 100)])
def test_postgres_values_finer_than_the_base_unit_are_refused(param, value):
    with pytest.raises(EncodeError):
        pg_enc.pg_value(param, value)


@pytest.mark.parametrize("value, written", [
    (True, "1"), (False, "0"), (30, "30"), (1.5, "1.5"), ("transaction", "transaction"),
    ("a;b #c", "a;b #c"),
])
def test_pgbouncer_values(value, written):
    assert bnc_enc.pgbouncer_value(value) == written


def test_pgbouncer_octal_keeps_its_leading_zero():
    assert bnc_enc.pgbouncer_value(0o700, Param("unix_socket_mode", "octal")) == "0700"


@pytest.mark.parametrize("value", ["a\nlisten_port = 1", " lead", "trail ", "nul\x00"])
def test_pgbouncer_refuses_newlines_and_edge_spaces(value):
    with pytest.raises(EncodeError):
        bnc_enc.pgbouncer_value(value)


def test_pgbouncer_connstr_quotes_and_refuses_empty():
    assert bnc_enc.pgbouncer_connstr([("host", "127.0.0.1"), ("application_name", "it's a bot")]) \
        == "host=127.0.0.1 application_name='it''s a bot'"
    with pytest.raises(EncodeError):
        bnc_enc.pgbouncer_connstr([("password", "")])


@pytest.mark.parametrize("name", ["my db", "pgbouncer", "*", "a=b"])
def test_pgbouncer_database_names(name):
    with pytest.raises(EncodeError):
        bnc_enc.pgbouncer_name(name)


def test_userlist_doubles_quotes_and_refuses_newlines():
    assert bnc_enc.userlist_line('we"ird', "s") == '"we""ird" "s"'
    with pytest.raises(EncodeError):
        bnc_enc.userlist_line("bot", "x\n\"admin\" \"\"")


@pytest.mark.parametrize("value, written", [
    ("127.0.0.1", "127.0.0.1"), ("a b", '"a b"'), ('q"\\', '"q\\"\\\\"'), ("#x", '"#x"'),
    ("", '""'), ("caf\u00e9", '"caf\\xc3\\xa9"'),
])
def test_redis_arguments(value, written):
    assert redis_enc.redis_arg(value) == written


def test_redis_refuses_newlines():
    with pytest.raises(EncodeError):
        redis_enc.redis_arg("x\nrequirepass y")


def test_acl_lines_pass_through_when_every_word_is_safe():
    line = "user bot on #" + "a" * 64 + " ~cache:* &events:* -@all +@read"
    assert redis_enc.acl_line(line) == line


@pytest.mark.parametrize("line", [
    'user bot on ~"x"', "user bot on ~a\\b", "user bot on +get\n", "user bot on  +get",
    "default on nopass", "user bot", "user bot on caf\u00e9",
], ids=["quote", "backslash", "newline", "double-space", "no-user-keyword", "no-rules",
        "non-ascii"])
def test_acl_lines_refuse_what_the_acl_file_cannot_carry(line):
    with pytest.raises(EncodeError):
        redis_enc.acl_line(line)


def test_redis_memory_is_written_1024_based():
    assert redis_enc.redis_value(Param("maxmemory", "memory"), 256 << 20) == "256mb"


@pytest.mark.parametrize("value, written", [
    ("50%", "50%%"), ("%(ENV_HOME)s", "%%(ENV_HOME)s"), (True, "true"), (7, "7"), ("a;b", "a;b"),
])
def test_supervisor_values(value, written):
    assert sup_enc.supervisor_value(value) == written


@pytest.mark.parametrize("value", ["a ;b", "a #b", " x", "x\ny=1"])
def test_supervisor_refuses_inline_comment_markers_and_newlines(value):
    with pytest.raises(EncodeError):
        sup_enc.supervisor_value(value)


def test_supervisor_template_keeps_only_supervisors_references():
    assert sup_enc.supervisor_template("%(program_name)s_%(process_num)02d 5%") == \
        "%(program_name)s_%(process_num)02d 5%%"
    assert sup_enc.supervisor_template("%(ENV_SECRET)s %(here)s %(x)s %(numprocs)d") == \
        "%(ENV_SECRET)s %(here)s %%(x)s %(numprocs)d"
    assert sup_enc.supervisor_template("/log/%(group_name)s-5%.log", expanded_twice=True) == \
        "/log/%(group_name)s-5%%%%.log"


def test_supervisor_expansions_are_supervisors_own_list():
    """Each name perfcfg writes live is one supervisor expands in a [program:x] section: a
    config using all of them (and a literal %) is read by supervisor's own parser."""
    import os

    from supervisor.options import ServerOptions, UnhosedConfigParser

    names = [n for n in sup_enc.EXPANSIONS if n != "process_num"]
    value = "-".join(f"%({n})s" for n in names) + "-%(process_num)02d-%(ENV_HOME)s-50%"
    parser = UnhosedConfigParser()
    parser.read_string("[program:w]\ncommand = /bin/true " + sup_enc.supervisor_template(value) +
                       "\nprocess_name = w\n")
    options = ServerOptions()
    options.here = "/etc/sup"
    options.environ_expansions = {"ENV_HOME": os.environ["HOME"]}
    (config,) = options.processes_from_section(parser, "program:w", "w")
    import platform

    want = {"program_name": "w", "group_name": "w", "numprocs": "1",
            "host_node_name": platform.node(), "here": "/etc/sup"}
    assert config.command == "/bin/true " + "-".join(want[n] for n in names) + \
        f"-00-{os.environ['HOME']}-50%"


def test_supervisor_command_survives_shlex():
    argv = ["python", "-m", "bots", "--name", "it's a bot", "50%"]
    line = sup_enc.supervisor_command(argv)
    assert shlex.split(line.replace("%%", "%")) == argv


@pytest.mark.parametrize("value", ['say "hi"', "back\\slash", "'quoted'", "x ;y"])
def test_supervisor_environment_refuses_unrepresentable_values(value):
    with pytest.raises(EncodeError):
        sup_enc.supervisor_environment([("K", value)])


def test_supervisor_environment_is_quoted_and_escaped():
    assert sup_enc.supervisor_environment([("A", "x y"), ("B", "50%")]) == 'A="x y",B="50%%"'


@pytest.mark.parametrize("value, written", [("botfarm", "botfarm"), ("10.0.0.0/8", "10.0.0.0/8"),
                                            ("my db", '"my db"'), ("+group", '"+group"')])
def test_hba_tokens(value, written):
    assert pg_enc.hba_token(value) == written


@pytest.mark.parametrize("value", ['a"b', "", "a\nb"])
def test_hba_refuses(value):
    with pytest.raises(EncodeError):
        pg_enc.hba_token(value)


def test_comments_cannot_be_ended_early():
    assert "\n" not in encoding.comment_text("reason\nmax_connections = 1")
