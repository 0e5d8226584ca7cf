"""The YAML loader: positions, YAML 1.2 scalars, duplicates, anchors, limits, encodings."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from wscfg.config import guard, load
from wscfg.config.load import SourceFile, parse_bytes, parse_text, read_file


def parse(text: str) -> load.LoadedFile:
    return parse_text(text, SourceFile("f.yaml", "/f.yaml"))


def plain(text: str) -> object:
    lf = parse(text)
    assert lf.diagnostics == [], [d.headline() for d in lf.diagnostics]
    assert lf.root is not None
    return lf.root.to_plain()


def headlines(text: str) -> list[str]:
    return [d.headline() for d in parse(text).diagnostics]


def test_positions_of_keys_and_values() -> None:
    root = parse("a: 1\nb:\n  - x\n  - {c: d}\n").root
    assert root is not None
    a = root.value["a"]
    assert (a.line, a.col, a.kline, a.kcol) == (1, 4, 1, 1)
    b = root.value["b"]
    assert (b.kline, b.kcol) == (2, 1)
    item = b.value[1]
    assert (item.line, item.col) == (4, 5)
    c = item.value["c"]
    assert (c.kline, c.kcol, c.line, c.col) == (4, 6, 4, 9)


def test_yaml_1_2_core_scalars() -> None:
    assert plain(
        "a: [yes, no, on, off, y, n, true, False, ~, null, '', 1, -2, +3, 0o17, 0x1F, 1_000, "
        "1.5, .5, 1e3, 012, 2024-01-01, '1', +15550100199]\n"
    ) == {
        "a": [
            "yes",
            "no",
            "on",
            "off",
            "y",
            "n",
            True,
            False,
            None,
            None,
            "",
            1,
            -2,
            3,
            15,
            31,
            "1_000",
            1.5,
            0.5,
            1000.0,
            12,
            "2024-01-01",
            "1",
            15550100199,
        ]
    }


def test_explicit_tags() -> None:
    assert plain("a: !!str 5\nb: !!int '7'\nc: !!float 2\nd: !!bool true\ne: !!null ''\n") == {
        "a": "5",
        "b": 7,
        "c": 2.0,
        "d": True,
        "e": None,
    }
    # a file with a reader problem is not known to be a config: the value and tag are not quoted
    assert headlines("a: !!int x\n") == ["f.yaml:1:4: this value is not a valid !!int"]
    assert headlines("a: !env HOME\n") == [
        "f.yaml:1:4: unsupported YAML tag; wscfg reads plain YAML (use ${env:NAME} for "
        "environment values)"
    ]
    assert headlines("a: !!set {x}\n") == [
        "f.yaml:1:4: unsupported YAML tag; wscfg reads plain YAML"
    ]


def test_numbers_that_cannot_be_numbers() -> None:
    assert headlines("a: .inf\n") == [
        "f.yaml:1:4: infinity and NaN are not allowed: numbers must be finite"
    ]
    assert headlines("a: 1e999\n") == [
        "f.yaml:1:4: this number is too large; quote it if it is text"
    ]
    assert len(headlines("a: " + "9" * 5000 + "\n")) == 1


def test_duplicate_keys_are_all_reported() -> None:
    assert headlines("a: 1\nb: 2\na: 3\nc: {x: 1, x: 2}\n") == [
        "f.yaml:3:1: duplicate key (first defined at line 1); a key may appear only once in "
        "a mapping",
        "f.yaml:4:11: duplicate key (first defined at line 4); a key may appear only once in "
        "a mapping",
    ]


def test_keys_must_be_text() -> None:
    assert headlines("1: a\ntrue: b\n~: c\n[x]: d\n") == [
        "f.yaml:1:1: a mapping key must be text, not a number; put quotes around it",
        "f.yaml:2:1: a mapping key must be text, not true/false; put quotes around it",
        "f.yaml:3:1: a mapping key must not be empty",
        "f.yaml:4:1: a mapping key must be text, not a list or mapping",
    ]
    assert plain("'1': a\non: b\n") == {"1": "a", "on": "b"}


def test_anchors_aliases_and_merge_keys() -> None:
    doc = plain(
        "base: &b {role: admin, notifications: {system: {email: false}}}\n"
        "m1: {<<: *b, email: a@x.example}\n"
        "m2:\n  <<: [*b, {role: owner, extra: 1}]\n  role: member\n"
        "m3: *b\n"
        "'<<': literal\n"
    )
    assert isinstance(doc, dict)
    assert doc["m1"] == {
        "email": "a@x.example",
        "role": "admin",
        "notifications": {"system": {"email": False}},
    }
    assert doc["m2"] == {
        "role": "member",
        "notifications": {"system": {"email": False}},
        "extra": 1,
    }
    assert doc["m3"] == doc["base"]
    assert doc["<<"] == "literal"


def test_alias_node_is_located_at_the_alias() -> None:
    root = parse("a: &x [1]\nlist:\n  - *x\n").root
    assert root is not None
    item = root.value["list"].value[0]
    assert (item.kline, item.kcol) == (3, 5)
    assert (item.line, item.col) == (1, 4)  # the value itself was written at the anchor


def test_merge_key_needs_a_mapping() -> None:
    assert headlines("a: {<<: 5}\n") == [
        "f.yaml:1:9: the value of a '<<' merge key must be a mapping or a list of mappings"
    ]


def test_alias_bomb_is_refused_quickly() -> None:
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        levels.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    start = time.perf_counter()
    msgs = headlines("\n".join(levels) + "\n")
    assert time.perf_counter() - start < 2
    assert msgs == [
        "f.yaml:5:36: YAML aliases here expand to more than 100,000 nodes; refusing the document "
        "(an alias bomb?)"
    ]


def test_many_small_aliases_are_fine() -> None:
    text = "d: &d {role: admin}\nm:\n" + "".join(
        f"  - {{<<: *d, email: u{i}@x.example}}\n" for i in range(2000)
    )
    doc = plain(text)
    assert isinstance(doc, dict) and len(doc["m"]) == 2000


def test_recursive_and_undefined_aliases() -> None:
    assert headlines("a: &x [1, *x]\n") == [
        "f.yaml:1:11: this alias refers to a node that contains it (a recursive alias)"
    ]
    assert headlines("a: *nope\n") == [
        "f.yaml:1:4: this alias refers to an anchor not defined above"
    ]


@pytest.mark.parametrize("parser", ["libyaml", "pure-python"])
@pytest.mark.parametrize(
    ("doc", "where"),
    [
        ("a: " + "[" * 100_000 + "]" * 100_000 + "\n", "1:67"),  # past libyaml's own limit
        ("a: " + "[" * 500 + "]" * 500 + "\n", "1:67"),  # under it
        ("a: " + "{x: " * 2_000 + "1" + "}" * 2_000 + "\n", "1:256"),
        ("".join(" " * i + f"k{i}:\n" for i in range(100)) + " " * 100 + "1\n", "65:65"),
    ],
)
def test_nesting_depth_is_capped_by_the_loader_itself(
    doc: str, where: str, parser: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cap is ours, at the same place whichever parser PyYAML gives us: newer libyaml
    builds refuse deep nesting on their own, with their own words, further along."""
    if parser == "pure-python":
        import yaml

        monkeypatch.setattr(load, "_parser", yaml.SafeLoader)
    assert headlines(doc) == [
        f"f.yaml:{where}: nesting is deeper than 64 levels; refusing this document"
    ]


def test_tabs() -> None:
    assert headlines("a:\n\tb: 1\n") == [
        "f.yaml:2:1: tab character: YAML indentation must use spaces, not tabs"
    ]
    assert headlines("a:\n  b: 1\n\tc: 2\n") == [
        "f.yaml:3:1: tab character: YAML indentation must use spaces, not tabs"
    ]
    assert plain('a: "x\\ty"\nb: x\ty\n') == {"a": "x\ty", "b": "x\ty"}


def test_syntax_errors_in_plain_words() -> None:
    assert headlines("a: [1, 2\nb: 3\n") == [
        "f.yaml:2:2: unclosed '[': expected ',' or ']' ('[' opened at line 1, column 4)"
    ]
    assert headlines('a: "abc\nb: 1\n') == [
        "f.yaml:3:1: the file ends inside a quoted string; close the quote (the quote opened at "
        "line 1, column 4)"
    ]
    assert headlines("- a\nb: 1\n") == [
        "f.yaml:2:1: expected a list item ('- …') aligned with the items above (the enclosing "
        "block starts at line 1)"
    ]


def test_one_document_only() -> None:
    assert headlines("a: 1\n---\nb: 2\n") == [
        "f.yaml:2:1: a second YAML document ('---') starts here; a config file holds exactly one "
        "document"
    ]
    assert plain("---\na: 1\n...\n") == {"a": 1}


def test_empty_inputs_have_no_root() -> None:
    for text in ("", "\n\n", "# c\n", "---\n", "~\n"):
        lf = parse(text)
        assert lf.root is None or lf.root.value is None
        assert lf.diagnostics == []


def test_bom_is_accepted_and_utf16_is_not() -> None:
    src = SourceFile("f.yaml", "/f.yaml")
    lf = parse_bytes("\ufeffa: é\n".encode(), src)
    assert lf.root is not None and lf.root.to_plain() == {"a": "é"}
    lf = parse_bytes("a: 1\n".encode("utf-16"), SourceFile("g.yaml", "/g.yaml"))
    assert [d.headline() for d in lf.diagnostics] == [
        "g.yaml:1:1: the file is not valid UTF-8 text (it looks like UTF-16): byte 0xff cannot "
        "be decoded; save the file as UTF-8"
    ]


def test_columns_count_characters() -> None:
    assert headlines("é: 1\nnaïve: [1,\n") != []
    root = parse("ééé: x\n").root
    assert root is not None and root.value["ééé"].col == 6


def test_control_characters_are_refused_and_not_echoed() -> None:
    lf = parse("a: b\x1bc\n")
    (d,) = lf.diagnostics
    assert d.headline() == (
        "f.yaml:1:5: control character U+001B is not allowed in YAML; remove it (or write it as "
        "an escape inside double quotes)"
    )
    assert "\x1b" not in d.source_line


def test_file_size_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 100 + "\n")
    monkeypatch.setattr(guard, "MAX_FILE_BYTES", 50)
    lf = read_file(str(path), "big.yaml")
    assert [d.headline() for d in lf.diagnostics] == [
        "big.yaml: the file is larger than 0 MB (104 bytes); refusing to read it"
    ]


def test_unreadable_paths(tmp_path: Path) -> None:
    assert [d.headline() for d in read_file(str(tmp_path), "dir").diagnostics] == [
        "dir: is a directory, not a file"
    ]
    assert [d.headline() for d in read_file(str(tmp_path / "x"), "x").diagnostics] == [
        "x: no such file"
    ]


def test_long_source_lines_are_cut_for_display() -> None:
    src = SourceFile("f.yaml", "f.yaml", "a: " + "[" * 70 + "x" * 1000)
    d = src.diagnostic(1, 74, "a problem")
    assert len(d.source_line) < 300 and d.source_line.endswith(" …")
    # a reader problem is located, and quotes nothing (the file is not known to be a config)
    (d,) = parse("a: " + "[" * 70 + "x" * 1000).diagnostics
    assert (d.line, d.source_line, d.path) == (1, "", "")


def test_a_long_line_is_quoted_as_a_window_around_the_error() -> None:
    from wscfg.config.sourcefile import _shown

    assert _shown("role: fron-desk", 7) == ("role: fron-desk", 7)
    line = "x" * 3_000_000 + ": 1"
    shown, caret = _shown(line, 2_000_000)
    assert len(shown) < 200
    assert shown.startswith("… ") and shown.endswith(" …")
    assert shown[caret - 1] == "x" and caret == 83


def test_keys_with_anchors_aliases_tags_and_odd_scalars() -> None:
    # A key is kept without a node of its own unless it carries an anchor (an alias may use
    # it later): every kind of key still gives the same value, position and messages.
    root = parse("&k a: 1\nb: {&k2 x: 2, y: *k2}\n!!str 3: t\n'<<': q\n").root
    assert root is not None
    assert root.to_plain() == {"a": 1, "b": {"x": 2, "y": "x"}, "3": "t", "<<": "q"}
    assert [(n.kline, n.kcol, n.line, n.col) for n in root.value.values()] == [
        (1, 1, 1, 7),
        (2, 1, 2, 4),
        (3, 1, 3, 10),
        (4, 1, 4, 7),
    ]
    # an alias used as a key stands where its anchor was written
    assert headlines("&k a: 1\n*k : 2\n") == [
        "f.yaml:1:1: duplicate key (first defined at line 1); a key may appear only once in "
        "a mapping"
    ]
    assert headlines("1e999: a\n.inf: b\n!!int 1: c\n!!int x: d\n!!bool 2: e\n") == [
        "f.yaml:1:1: this number is too large; quote it if it is text",
        "f.yaml:2:1: infinity and NaN are not allowed: numbers must be finite",
        "f.yaml:3:1: a mapping key must be text, not a number; put quotes around it",
        "f.yaml:4:1: this value is not a valid !!int",
        "f.yaml:5:1: this value is not a valid !!bool",
    ]
    assert plain("1e999x: a\n? b\n") == {"1e999x": "a", "b": None}
    assert headlines("{a: 1, a: 2, 1: 3, !x y: 4}\n") == [
        "f.yaml:1:8: duplicate key (first defined at line 1); a key may appear only once in "
        "a mapping",
        "f.yaml:1:14: a mapping key must be text, not a number; put quotes around it",
        "f.yaml:1:20: unsupported YAML tag; wscfg reads plain YAML (use ${env:NAME} for "
        "environment values)",
    ]
