"""Redis ACL users: validated rules, the users.acl file, aclfile in redis.conf, REDIS_URL."""

import hashlib

import pytest
from helpers import compile_with


def build(project, redis_yaml, extra=""):
    return compile_with(project, "redis:\n" + redis_yaml + extra)


def placeholder_hash(ref):
    placeholder = "placeholder-" + hashlib.sha256(ref.encode()).hexdigest()[:16]
    return "#" + hashlib.sha256(placeholder.encode()).hexdigest()


APP = f"user app on {placeholder_hash('${env:APP_REDIS_PASSWORD}')} ~app:* -@all +@read " \
      "+@write +@connection"


@pytest.mark.parametrize("redis_yaml, lines", [
    ("  users: []\n", ["user default on nopass ~* &* +@all"]),
    ("  port: 6379\n", ["user default off resetpass resetkeys resetchannels -@all", APP]),
    ("  users:\n    - name: app\n      enabled: false\n",
     ["user default off resetpass resetkeys resetchannels -@all",
      APP.replace("user app on", "user app off")]),
    ("  users:\n    - {name: stats, nopass: true, enabled: false, commands: [+info]}\n",
     ["user default off resetpass resetkeys resetchannels -@all", APP,
      "user stats off nopass +info"]),
    ("  users:\n    - {name: pub, password: '${env:P}', channels: ['events:*'], "
     "commands: [+publish]}\n",
     ["user default off resetpass resetkeys resetchannels -@all", APP,
      f"user pub on {placeholder_hash('${env:P}')} &events:* +publish"]),
    ("  users:\n    - {name: default, password: '${env:D}', keys: ['*'], commands: [+@all]}\n",
     [APP, f"user default on {placeholder_hash('${env:D}')} ~* +@all"]),
], ids=["none-declared", "base", "disabled", "nopass-off", "channels", "default-declared"])
def test_acl_file_lines(project, redis_yaml, lines):
    waiver = "policy:\n  waivers: [{rule: PCF404, reason: the test wants Redis's default}]\n"
    result = build(project, redis_yaml.replace("users: []", "users: [!unset app]"), waiver)
    assert result.files, result.diagnostics
    assert result.files["users.acl"].decode().splitlines() == lines


def test_the_acl_file_has_no_comment_line_and_redis_conf_points_at_it(project):
    result = build(project, "  aclfile: /srv/redis/users.acl\n")
    assert not any(line.startswith("#") for line in result.files["users.acl"].decode().splitlines())
    assert b"\naclfile /srv/redis/users.acl\n" in result.files["redis.conf"]
    default = build(project, "  port: 6379\n")
    assert b"\naclfile /etc/redis/users.acl\n" in default.files["redis.conf"]


@pytest.mark.parametrize("rule_yaml, path", [
    ("commands: ['+@read ~*']", "redis.users.app.commands"),
    ("commands: ['+get\"']", "redis.users.app.commands"),
    ("commands: ['>hunter2']", "redis.users.app.commands"),
    ("commands: [nopass]", "redis.users.app.commands"),
    ("keys: ['~cache:*']", "redis.users.app.keys"),
    ("keys: ['cache:* ~other']", "redis.users.app.keys"),
    ("channels: ['&x']", "redis.users.app.channels"),
    ("name: 'a b'", "redis.users.a b.name"),
], ids=["space", "quote", "password-in-rule", "bare-flag", "tilde", "key-space", "amp", "name"])
def test_each_acl_rule_is_validated_at_its_line(project, rule_yaml, path):
    first = "    - name: app\n" if not rule_yaml.startswith("name") else "    - name: app\n    - "
    text = (first + "      " + rule_yaml + "\n") if not rule_yaml.startswith("name") \
        else first + rule_yaml + "\n"
    result = build(project, "  users:\n" + text)
    found = [(d.code, d.path, d.span.line) for d in result.diagnostics]
    assert found == [("PCF204", path, 5)], found
    assert "hunter2" not in " ".join(d.message for d in result.diagnostics)


def test_workers_redis_url_names_the_user_never_the_password(project):
    result = build(project, "  port: 6380\n")
    [worker] = result.plan.parts["supervisor"]
    assert dict(worker.environment)["REDIS_URL"] == "redis://app@127.0.0.1:6380/0"


def test_a_program_can_name_its_redis_user(project):
    result = build(project, "  users:\n    - {name: jobs, password: '${env:J}'}\n",
                   "workload:\n  programs:\n    - name: worker\n      redis_user: jobs\n")
    assert dict(result.plan.parts["supervisor"][0].environment)["REDIS_URL"].startswith("redis://jobs@")


@pytest.mark.parametrize("users_yaml", ["", "  users:\n    - {name: jobs, enabled: false}\n"],
                         ids=["undeclared", "disabled"])
def test_a_program_naming_an_unusable_redis_user_is_an_error(project, users_yaml):
    result = build(project, users_yaml or "  port: 6379\n",
                   "workload:\n  programs:\n    - name: worker\n      redis_user: jobs\n")
    assert [(d.code, d.path) for d in result.diagnostics if d.severity == "error"] == [
        ("PCF209", "workload.programs.worker.redis_user")]


def test_user_lines_in_redis_conf_are_refused(project):
    result = build(project, "  user: default on nopass\n")
    assert [(d.code, d.path) for d in result.diagnostics if d.severity == "error"] == [
        ("PCF206", "redis.user")]
