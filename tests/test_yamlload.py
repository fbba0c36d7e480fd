import pytest
from helpers import span_of

from perfcfg.core.nodes import Mapping, Scalar, to_plain
from perfcfg.stages.load import load_bytes, load_text, resolve_plain


@pytest.mark.parametrize("raw, value", [
    ("", None), ("~", None), ("null", None), ("true", True), ("Off", False), ("yes", True),
    ("42", 42), ("-7", -7), ("1.5", 1.5), (".5", 0.5), ("512MB", "512MB"), ("0x10", "0x10"),
    ("1e3", "1e3"), ("localhost", "localhost"),
], ids=lambda x: repr(x))
def test_plain_scalars_resolve_by_perfcfg_rules(raw, value):
    assert resolve_plain(raw) == value


@pytest.mark.parametrize("text, code, line, column", [
    ("a: 1\na: 2\n", "PCF103", 2, 1),
    ("a: !!python/object:os.system x\n", "PCF104", 1, 4),
    ("a: !custom x\n", "PCF104", 1, 4),
    ("a: [1,\n", "PCF102", 1, 7),   # just past the last character, not on an empty line
    ("a:\n\tb: 1\n", "PCF108", 2, 1),
    ("a: 1\n---\nb: 2\n", "PCF109", 2, 1),
    ("port: 05432\n", "PCF110", 1, 7),
    ("t: 1:30\n", "PCF110", 1, 4),
    ("a: 1\n<<: {b: 2}\n", "PCF111", 2, 1),
], ids=["duplicate", "python-tag", "custom-tag", "syntax", "tab", "two-docs", "octal",
        "sexagesimal", "merge-key"])
def test_hazards_are_reported_with_position(text, code, line, column):
    _, diags = load_text(text, "p.yaml")
    assert [(d.code, span_of(d).line, span_of(d).column) for d in diags] == [(code, line, column)]
    assert all(span_of(d).file == "p.yaml" and d.hint for d in diags)


def test_alias_bomb_is_capped():
    rows = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefg", "bcdefgh", strict=True):
        rows.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    tree, diags = load_text("\n".join(rows) + "\n", "bomb.yaml")
    assert tree is None and [d.code for d in diags] == ["PCF105"]


def test_modest_aliases_are_fine():
    tree, diags = load_text("base: &b {x: 1}\ncopy: *b\n", "a.yaml")
    assert tree is not None
    assert diags == [] and to_plain(tree)[0] == {"base": {"x": 1}, "copy": {"x": 1}}


def test_not_utf8_points_at_the_byte():
    _, diags = load_bytes(b"a: 1\nb: caf\xe9\n", "x.yaml")
    assert [(d.code, span_of(d).line, span_of(d).column) for d in diags] == [("PCF106", 2, 7)]


def test_oversized_file():
    _, diags = load_bytes(b"a: 1\n" + b"#" * (1 << 20), "big.yaml")
    assert [d.code for d in diags] == ["PCF107"]


def test_quoted_numbers_stay_strings_and_spans_are_exact():
    tree, diags = load_text('mode: "0700"\nport: 6432\n', "a.yaml")
    assert tree is not None
    plain, spans = to_plain(tree)
    assert diags == [] and plain == {"mode": "0700", "port": 6432}
    assert (spans[("port",)].line, spans[("port",)].column) == (2, 7)


def test_unset_tag_is_allowed():
    tree, diags = load_text("a: !unset\n", "a.yaml")
    assert isinstance(tree, Mapping)
    value = tree.entries["a"].value
    assert diags == [] and isinstance(value, Scalar) and value.is_unset
