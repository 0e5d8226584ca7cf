"""Write live values back into a config file (``wscfg adopt``), comments kept. Pure: text in,
text out; the CLI reads, prints and writes.

The file is edited with ruamel.yaml round-trip (comments, key order, quoting and flow/block
style kept; the indentation guessed from the file). For each change of a plan:

- a changed field (an update) is rewritten where it was declared, with the live value;
- an item the config declares but the workspace lacks (deleted in the UI) is removed;
- a live item the config lacks (created in the UI) is appended to its kind's list.

A value a template (``extends``) declared becomes an override in the edited file (an item:
``$remove: true``); :func:`split_by_file` serves ``--into-template``, which edits the template.

Refused, each by name: write-only fields (a webhook's secret: the platform never shows it) and
a value that came from ``${env:X}`` (writing it would put an environment value in the file in
clear), as an override, a template's value the workspace no longer has (an override can
change a value, not unset it; ``--into-template`` can), and a key a template locks in a file
the lock does not let set it (:func:`wscfg.config.policies.adopt_refusal`).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..model.kinds import BY_NAME
from .desired import TargetConfig
from .policies import adopt_refusal
from .roundtrip import round_trip_yaml

ENV_REF = "${env:"
ENV_REASON = (
    "its value comes from an environment variable (${env:…}); adopting would "
    "write that value into the file in clear: change the variable, or edit "
    "the file by hand"
)


class AdoptError(Exception):
    """The file cannot be edited (not a mapping, or not YAML ruamel can round-trip)."""


@dataclass
class NotAdopted:
    """A live value adopt will not write back, and why (apply's refusals are another thing)."""

    address: str  # e.g. "webhooks[crm].secret"
    reason: str

    def message(self) -> str:
        return f"cannot adopt {self.address}: {self.reason}"


@dataclass
class Adoption:
    text: str  # the new file text (== the old one when nothing was adopted)
    adopted: list[str] = field(default_factory=list)  # addresses written
    not_adopted: list[NotAdopted] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _yaml(text: str) -> tuple[Any, Any]:
    yaml = round_trip_yaml(text)
    try:
        return yaml, yaml.load(text)
    except Exception as exc:  # ruamel raises many kinds; the loader already checked the file
        raise AdoptError(f"cannot edit the file: {type(exc).__name__}") from None


def adopt(
    text: str,
    file: str,
    target: TargetConfig,
    changes: list[Any],
    read: Callable[[str], str] | None = None,
) -> Adoption:
    """Edit ``text`` (the file ``file`` of ``target``) so it declares the live values of
    ``changes`` (a plan's changes for this workspace). A value a template (``extends``)
    declared becomes an override in ``file``; ``read(path)`` gives a template's text, to
    refuse a value that came from ``${env:X}`` there."""
    yaml, doc = _yaml(text)
    if not hasattr(doc, "get"):
        raise AdoptError("the file is not a mapping")
    out = Adoption(text)
    removals: list[tuple[str, int, str]] = []
    for change in changes:
        if change.action == "resend":
            continue
        locked = adopt_refusal(target.locks, file, change.kind)
        if locked is not None:
            out.not_adopted.append(NotAdopted(change.address, locked))
            continue
        kind = BY_NAME[change.kind]
        pos = _position(target, change.kind, change.key)
        if change.action == "update":
            for fc in change.fields:
                _field(out, doc, target, file, change, pos, fc, read)
        elif change.action == "create":  # declared, deleted in the UI: remove it
            own = _own_index(doc, change.kind, change.key, target, file)
            # Declared here and by a template too: removing ours would leave the template's.
            inherited = (change.kind, change.key) in target.inherited and _same_file(
                file, target.file
            )
            if (
                own is not None
                and not inherited
                and _declared_here(target, file, (change.kind, pos))
            ):
                removals.append((change.kind, own, change.address))
                continue
            marker = _remove_marker(kind.identity or "", doc.get(change.kind), change.key)
            if own is not None:
                _replace(doc[change.kind], own, marker)
            else:
                _append(_own_seq(doc, change.kind), marker)
            where = _where(target, change.kind, pos)
            if inherited and own is not None:  # the item's source is our own declaration
                where = "a template it extends"
            out.notes.append(
                f"{change.address} comes from {where}: removed with `$remove: true` in {file}"
            )
            out.adopted.append(change.address)
        elif change.action == "delete":  # created in the UI: append it
            body = {k: v for k, v in (change.before or {}).items() if k not in kind.read_only}
            for name in kind.write_only:
                body.pop(name, None)
                if (change.before or {}).get(name + "_fingerprint"):
                    out.notes.append(
                        f"{change.address}: its {name} is write-only and was not adopted; "
                        f"add `{name}: ${{env:NAME}}` to manage it"
                    )
            seq = _own_seq(doc, change.kind)
            _append(seq, _styled_item(seq, _ordered(body, kind.identity or "", seq)))
            out.adopted.append(change.address)
    removed: set[tuple[str, int]] = set()
    for kind_name, index, address in sorted(removals, key=lambda r: -r[1]):
        seq = doc.get(kind_name)
        if index < 0 or seq is None or index >= len(seq):
            out.not_adopted.append(NotAdopted(address, "its declaration was not found"))
            continue
        # The comment lines below the last item stood above the next one; when this edit
        # removed that one too, they went with it.
        orphaned = (kind_name, index + 1) in removed and index + 1 >= len(seq)
        if _remove(seq, index, drop_below=orphaned):
            removed.add((kind_name, index))
        else:
            out.not_adopted.append(
                NotAdopted(
                    address, "removing it would drop the comment below it: remove it by hand"
                )
            )
            continue
        if not len(seq):  # an empty list reads `kind: []`; its comments went with its items
            _clear_comments(doc, kind_name, seq)
            seq.fa.set_flow_style()
        out.adopted.append(address)
    if out.adopted:
        buf = io.StringIO()
        yaml.dump(doc, buf)
        out.text = buf.getvalue()
        try:  # never hand back text that does not read back as the document edited
            back = yaml.load(out.text)
        except Exception as exc:  # ruamel raises many kinds
            why = type(exc).__name__
            raise AdoptError(f"the edited file would not read back ({why})") from None
        if _plain(back) != _plain(doc):
            raise AdoptError("the edited file would not read back as edited")
    return out


def _plain(value: Any) -> Any:
    """``value`` as plain data, each scalar tagged with its type (``true`` is not ``1``)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return (kind.__name__, kind(value))
    return value


def _clear_comments(doc: Any, key: str, seq: Any) -> None:
    """Drop every comment of the list ``doc[key]``, also those above its first item (ruamel
    keeps them on the list and on the key: left there, they would print between `key:` and
    `[]` and the file would not read back)."""
    seq.ca.items.clear()
    seq.ca.comment = None
    entry = doc.ca.items.get(key)
    if entry is not None and len(entry) > 3:
        entry[3] = None
    if entry is not None and len(entry) > 2 and entry[2] is not None:  # `key:  # note` keeps it
        entry[2].value = entry[2].value.split("\n", 1)[0] + "\n"


def _block_map(item: Any) -> bool:
    """A block mapping with keys: ruamel keeps the comment after it on its last key."""
    return (
        hasattr(item, "keys")
        and hasattr(item, "fa")
        and bool(len(item))
        and not (item.fa.flow_style())
    )


def _nested_block_list(item: Any) -> bool:
    return hasattr(item, "fa") and not hasattr(item, "keys") and not item.fa.flow_style()


def _tail(seq: Any, index: int) -> Any:
    """The comment token after ``seq[index]``: its end-of-line comment and the comment lines
    below it, where ruamel keeps them (a block mapping's last key; the list itself for a
    scalar or a flow mapping or list); None when there is none."""
    item = seq[index]
    if _block_map(item):
        entry = item.ca.items.get(list(item.keys())[-1])
        return entry[2] if entry is not None and len(entry) > 2 else None
    if _nested_block_list(item):  # left alone
        return None
    entry = seq.ca.items.get(index)
    return entry[0] if entry is not None else None


def _set_tail(seq: Any, index: int, token: Any) -> None:
    """Make ``token`` the comment after ``seq[index]``, where ruamel looks for it."""
    item = seq[index]
    if _block_map(item):
        item.ca.items.setdefault(list(item.keys())[-1], [None, None, None, None])[2] = token
    elif token is not None or index in seq.ca.items:
        seq.ca.items.setdefault(index, [None, None, None, None])[0] = token


def _append(seq: Any, item: Any) -> None:
    """Append ``item`` to ``seq`` inside its own list: the blank lines and comment lines below
    the old last item (ruamel keeps them on it) lead into the next key, so they move below the
    new item; the old item keeps its end-of-line comment."""
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    n = len(seq)
    token = _tail(seq, n - 1) if n and not seq.fa.flow_style() else None
    below = ""
    if token is not None:
        first, newline, rest = token.value.partition("\n")
        if newline and rest:
            token.value = first + "\n"
            below = rest
    seq.append(item)
    if below:
        _set_tail(seq, n, CommentToken("\n" + below, CommentMark(0)))


def _replace(seq: Any, index: int, new: Any) -> None:
    """``seq[index] = new``, keeping the comment after the old item: it moves to where ruamel
    looks for the new item's (a block mapping's last key, or the list), the two may differ."""
    token = _tail(seq, index)
    if token is not None and not _block_map(seq[index]):
        _set_tail(seq, index, None)  # it was on the list: the new item may keep it elsewhere
    seq[index] = new
    if token is not None:
        _set_tail(seq, index, token)


def _remove(seq: Any, index: int, *, drop_below: bool = False) -> bool:
    """Delete ``seq[index]``, keeping the comment lines that stood below it (ruamel stores
    them with the item: they belong to what follows), unless ``drop_below``: what followed
    was removed too."""
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    token = _tail(seq, index)
    below = ""
    if token is not None and "\n" in token.value.rstrip("\n"):
        below = token.value.split("\n", 1)[1]
    lines = [ln for ln in below.splitlines() if ln.strip()]
    if not lines or drop_below:
        del seq[index]
        return True
    if index + 1 < len(seq):
        del seq[index]
        tokens = [
            CommentToken(ln.strip() + "\n", CommentMark(len(ln) - len(ln.lstrip()))) for ln in lines
        ]
        entry = seq.ca.items.setdefault(index, [None, None, None, None])
        entry[1] = tokens + list(entry[1] or [])
        return True
    if index == 0:
        return False
    text = "".join(ln + "\n" for ln in lines)
    prev = _tail(seq, index - 1)
    if prev is not None:
        del seq[index]
        prev.value += text
        return True
    # The item before has no comment after it: give it one, where ruamel looks for it.
    if _nested_block_list(seq[index - 1]):  # left alone
        return False
    del seq[index]
    _set_tail(seq, index - 1, CommentToken("\n" + text, CommentMark(0)))
    return True


def _field(
    out: Adoption,
    doc: Any,
    target: TargetConfig,
    file: str,
    change: Any,
    pos: int | None,
    fc: Any,
    read: Callable[[str], str] | None,
) -> None:
    kind = BY_NAME[change.kind]
    name = fc.path.removesuffix("_fingerprint")
    address = f"{change.address}.{name}"
    top = name.split(".", 1)[0]
    if top in kind.write_only:
        out.not_adopted.append(
            NotAdopted(
                address,
                "it is write-only (the platform never shows it); the reference is left as it is",
            )
        )
        return
    base: tuple[str | int, ...] = (change.kind,) if pos is None else (change.kind, pos)
    parts = tuple(name.split("."))
    src = target.source_of(base + parts)
    template = src is not None and not _same_file(src.file, file)
    if template and src is not None and read is not None and ENV_REF in _line(read, src):
        out.not_adopted.append(NotAdopted(address, ENV_REASON))
        return
    if template and fc.before is None:  # an override can change a template's value, not unset it
        out.not_adopted.append(
            NotAdopted(
                address,
                f"the workspace has no value for it and an override cannot unset the value "
                f"{src} declares: adopt it with --into-template, or remove it there by hand",
            )
        )
        return
    from ruamel.yaml.comments import CommentedMap

    node: Any
    if kind.singleton:
        node = doc.get(change.kind)
        if node is None and template:
            node = doc[change.kind] = CommentedMap()
    else:
        own = _own_index(doc, change.kind, change.key, target, file)
        node = doc[change.kind][own] if own is not None else None
        if node is None and template:
            node = CommentedMap()
            ident = kind.identity or ""
            node[ident] = _identity_value(change.before, ident, change.key)
            seq = _own_seq(doc, change.kind)
            node = _styled_item(seq, dict(node))
            _append(seq, node)
    if node is None or not hasattr(node, "get"):
        out.not_adopted.append(NotAdopted(address, "its declaration was not found"))
        return
    if template:
        out.notes.append(f"{address} comes from {src}: written as an override in {file}")
    for part in parts[:-1]:
        nxt = node.get(part)
        if nxt is None:
            from ruamel.yaml.comments import CommentedMap

            nxt = CommentedMap()
            node[part] = nxt
        node = nxt
    last = parts[-1]
    old = node.get(last)
    if _mentions_env(old):
        out.not_adopted.append(NotAdopted(address, ENV_REASON))
        return
    if fc.before is None:
        if last in node:
            del node[last]
    else:
        node[last] = _styled(old, fc.before)
    out.adopted.append(address)


def split_by_file(target: TargetConfig, changes: list[Any], own: str) -> dict[str, list[Any]]:
    """For ``--into-template``: each change (or each field of an update) under the file that
    declared it; items created in the UI go to ``own``. Files in first-seen order."""
    import dataclasses

    out: dict[str, list[Any]] = {own: []}
    for change in changes:
        pos = _position(target, change.kind, change.key)
        base: tuple[str | int, ...] = (change.kind,) if pos is None else (change.kind, pos)
        if change.action == "update":
            groups: dict[str, list[Any]] = {}
            for fc in change.fields:
                parts = tuple(fc.path.removesuffix("_fingerprint").split("."))
                src = target.source_of(base + parts)
                groups.setdefault(src.file if src is not None else own, []).append(fc)
            for file, fields in groups.items():
                out.setdefault(file, []).append(dataclasses.replace(change, fields=fields))
        elif change.action == "create":
            src = target.source_of(base) if pos is not None else None
            out.setdefault(src.file if src is not None else own, []).append(change)
        else:
            out[own].append(change)
    return {f: c for f, c in out.items() if c}


def users_of(template: str, others: list[TargetConfig]) -> list[str]:
    """The slugs of ``others`` whose config reads ``template`` (through ``extends``)."""
    return [d.slug for d in others if any(_same_file(s.file, template) for s in d.sources.values())]


def _own_seq(doc: Any, kind: str) -> Any:
    seq = doc.get(kind)
    if seq is None:
        from ruamel.yaml.comments import CommentedSeq

        seq = doc[kind] = CommentedSeq()
    return seq


def _own_index(
    doc: Any, kind: str, key: str, target: TargetConfig | None = None, file: str = ""
) -> int | None:
    """Where the file itself declares the item ``key`` of ``kind`` (None: it does not).

    An identity written as text (``frontdesk@acme.example``) is matched by its value; one
    written with references (``frontdesk@${var.domain}``) is found as plan found it: where the
    resolved item of ``target`` was declared in ``file`` (its line and column)."""
    from .resolve import identity_key

    ident = BY_NAME[kind].identity or ""
    seq = doc.get(kind)
    if not isinstance(seq, list):
        return None
    for i, item in enumerate(seq):
        raw = item.get(ident) if hasattr(item, "get") else item
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        if isinstance(raw, str) and identity_key(kind, raw) == key:
            return i
    if target is None:
        return None
    pos = _position(target, kind, key)
    src = target.sources.get((kind, pos)) if pos is not None else None
    if src is None or not _same_file(src.file, file):
        return None
    marked: Any = seq  # a ruamel CommentedSeq: it knows where each item starts
    for i in range(len(seq)):
        line, column = marked.lc.item(i)
        if (line + 1, column + 1) == (src.line, src.column):
            return i
    return None


def _identity_value(before: Any, ident: str, key: str) -> Any:
    value = (before or {}).get(ident)
    return value if value is not None else key


def _remove_marker(ident: str, seq: Any, key: str) -> Any:
    return _styled_item(seq if isinstance(seq, list) else [], {ident: key, "$remove": True})


def _line(read: Callable[[str], str], src: Any) -> str:
    try:
        lines = read(src.file).splitlines()
    except (OSError, UnicodeDecodeError):
        return ENV_REF  # cannot tell: treat as an environment value (never write it)
    return lines[src.line - 1] if 0 < src.line <= len(lines) else ""


def _where(target: TargetConfig, kind: str, pos: int | None) -> str:
    path: tuple[str | int, ...] = (kind,) if pos is None else (kind, pos)
    src = target.source_of(path)
    return str(src) if src is not None else "a template"


def _position(target: TargetConfig, kind: str, key: str) -> int | None:
    if BY_NAME[kind].singleton:
        return None
    ident = BY_NAME[kind].identity
    items = getattr(target.config, kind, None) or []
    for i, item in enumerate(items):
        if str(getattr(item, ident or "", None)) == key:
            return i
    return None


def _declared_here(target: TargetConfig, file: str, path: tuple[str | int | None, ...]) -> bool:
    if path[-1] is None:
        return False
    src = target.source_of(tuple(p for p in path if p is not None))
    return src is None or _same_file(src.file, file)


def _same_file(a: str, b: str) -> bool:
    import os

    return os.path.realpath(a) == os.path.realpath(b)


def _mentions_env(value: Any) -> bool:
    if isinstance(value, str):
        return ENV_REF in value
    if isinstance(value, dict):
        return any(_mentions_env(v) for v in value.values())
    if isinstance(value, list):
        return any(_mentions_env(v) for v in value)
    return False


def _styled(old: Any, new: Any) -> Any:
    """``new`` in the style of ``old``: the same quotes for a string, flow or block for a
    mapping or list."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

    if isinstance(new, str):
        if isinstance(old, DoubleQuotedScalarString):
            return DoubleQuotedScalarString(new)
        if isinstance(old, SingleQuotedScalarString):
            return SingleQuotedScalarString(new)
        return new
    if isinstance(new, dict):
        if isinstance(old, CommentedMap):  # in place: keeps comments and style
            for k in [k for k in old if k not in new]:
                del old[k]
            for k, v in new.items():
                if k not in old or not _equal(old[k], v):
                    old[k] = _styled(old.get(k), v)
            return old
        m = CommentedMap()
        for k, v in new.items():
            m[k] = _styled(None, v)
        return m
    if isinstance(new, list):
        s = CommentedSeq(_styled(None, v) for v in new)
        if isinstance(old, CommentedSeq) and old.fa.flow_style():
            s.fa.set_flow_style()
        return s
    return new


def _equal(a: Any, b: Any) -> bool:
    return type(a) is type(b) and bool(a == b) if not isinstance(a, str) else a == b


def _ordered(body: dict[str, Any], ident: str, seq: Any) -> dict[str, Any]:
    """The identity first, then the keys in the order of the list's last item, then the rest."""
    last = seq[-1] if len(seq) and hasattr(seq[-1], "keys") else {}
    order = [ident, *[k for k in last if k != ident]]
    out = {k: body[k] for k in order if k in body}
    out.update({k: v for k, v in body.items() if k not in out})
    return out


def _styled_item(seq: Any, body: dict[str, Any]) -> Any:
    """A new list item styled like the list's last item (flow or block)."""
    last = seq[-1] if len(seq) else None
    if isinstance(last, str) and set(body) == {"number"}:
        return body["number"]
    from ruamel.yaml.comments import CommentedMap

    like = last if isinstance(last, CommentedMap) else CommentedMap()
    item = CommentedMap()
    for k, v in body.items():  # quotes and list style of the last item; never mutate it
        item[k] = _styled(like.get(k) if isinstance(v, str | list) else None, v)
    if like.fa.flow_style():
        item.fa.set_flow_style()
    return item
