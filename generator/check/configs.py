"""A file a workload mounts, read as the program that reads it will: its kind from its target's name, and the
values it holds through that kind's own reader (YAML and JSON, TOML, INI, Java properties, XML).

The secret guard judges each value so: a key its reader unescapes (`pass\\u0077ord`, `pass&#119;ord`), a value
continued over lines, a `key value` pair without `=`, a key that only its parser sees (`? password`) are each
the credential their reader gets. What no reader here takes (a script, an unknown kind) is judged as text.

Each reader is the standard one (the stdlib's tomllib, configparser and ElementTree, libyaml, javaproperties),
imported only when a spec mounts such a file, and given what it cannot read back without failing: a file that
does not parse gives the values read so far (a YAML stream up to its broken document) or none, and is judged by
its text alone. A reader never reaches outside the text: XML's external entities are not fetched (ElementTree
does not), and expat >= 2.4 bounds the expansion of internal ones (a billion laughs is refused, not expanded).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

# What a rendering step appends to a config file's name (app.yaml.tmpl, nginx.conf.j2): the kind is the one before.
TEMPLATE_SUFFIXES: tuple[str, ...] = (".tmpl", ".tpl", ".j2", ".jinja", ".jinja2", ".template", ".gotmpl", ".erb")
TEMPLATE_SUFFIXES += (".mustache", ".hbs", ".in", ".example", ".sample", ".dist", ".default", ".orig", ".bak")
_KINDS = {
    ".yaml": "yaml", ".yml": "yaml", ".json": "yaml", ".json5": "yaml", ".jsonc": "yaml",  # JSON is YAML 1.2
    ".toml": "toml", ".ini": "ini", ".cfg": "ini", ".cnf": "ini", ".conf": "ini", ".properties": "properties",
    ".xml": "xml", ".env": "env",
}  # fmt: skip
HCL = (".tf", ".tfvars", ".hcl")
MAX = 1 << 20  # a file longer than this is judged by its text alone


def kind(target: str) -> str | None:
    """The kind of file a target names (yaml, toml, ini, properties, xml, env), or None: its name's last suffix
    that is no template's, however it is cased or ends (`App.YAML `, `config.yaml.j2`, `.env.production`)."""
    name = target.strip().rstrip(".").lower().rsplit("/", 1)[-1]
    for _ in range(4):
        stripped = next((name[: -len(s)] for s in TEMPLATE_SUFFIXES if name.endswith(s) and len(name) > len(s)), "")
        if not stripped:
            break
        name = stripped
    if name.startswith(".env") or name.endswith(".env"):  # .env.production, prod.env
        return "env"
    dot = name.rfind(".")
    return _KINDS.get(name[dot:]) if dot >= 0 else None


def values(kind_: str | None, text: str) -> Iterator[Any]:
    """The values the file's reader gets: each YAML document, the TOML table, INI's sections, the properties, each
    XML element (a file of no kind: its YAML objects, if any). Nothing when no reader here reads the kind (env),
    or when the text is no such file."""
    reader = _READERS.get(kind_ or "sniffed")
    if reader is None or len(text) > MAX:
        return iter(())
    try:
        return iter(list(reader(text)))
    except Exception:  # a reader's own failure on odd input (configparser's continuation of a
        return iter(())  # key without a value raises AttributeError): the file is then judged by its text


def comments(text: str) -> str:
    """The text with its whole-line comments kept and every other line blanked (lines stay where they were):
    what a parser drops, which the guard still reads as text."""
    return "\n".join(ln if ln.lstrip().startswith(("#", ";", "!", "//")) else "" for ln in text.split("\n"))


# -- YAML and JSON -------------------------------------------------------------------------------------------------


def _yaml(text: str) -> Iterator[Any]:
    import yaml

    out: list[Any] = []
    for loader in _loaders():  # libyaml first; the pure-Python reader takes what libyaml refuses (lone surrogates)
        out = []
        try:
            for doc in yaml.load_all(text, Loader=loader):
                out.append(doc)
            break
        except (yaml.YAMLError, RecursionError, ValueError, TypeError, OverflowError, UnicodeError):
            continue  # the documents read so far stay in `out` if the last reader fails too
    return unshared(out)


_LOADERS: list[type] = []


# Tags whose reader gives the scalar's own text (Ansible's !unsafe, CloudFormation's !Sub, PyYAML's python/str):
# a value so tagged is judged as the string it is. Any other tag resolves to something else (a reference).
_TEXT_TAGS = frozenset({"!unsafe", "!Sub", "tag:yaml.org,2002:python/str", "tag:yaml.org,2002:python/unicode"})


def _loaders() -> list[type]:
    """Two lenient SafeLoaders (libyaml's and the pure-Python one): an unknown tag (`!vault`, `!Ref`, `!secret`)
    is read as {tag: ..., tagged: value} (what it tags is still judged, and a tagged value under `password:` is
    the reference its reader resolves, not a literal); a key that cannot be a dict key (`? [a, b]`) as a pair
    under a key of its own; !!omap and !!pairs as single-pair mappings."""
    if _LOADERS:
        return _LOADERS
    import yaml

    def construct_undefined(loader: Any, suffix: str, node: Any) -> Any:
        if isinstance(node, yaml.MappingNode):
            value: Any = construct_mapping(loader, node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_scalar(node)
        if node.tag in _TEXT_TAGS and isinstance(value, str):
            return value  # the text as written is what the program gets
        return {"tag": node.tag, "tagged": value}

    def construct_mapping(loader: Any, node: Any, deep: bool = True) -> dict[Any, Any]:
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for i, (k, v) in enumerate(node.value):
            key, value = loader.construct_object(k, deep=True), loader.construct_object(v, deep=True)
            try:
                if key in out:  # a key given twice (or merged in by `<<`, then given): the bytes hold both values
                    out[f"?{i}"] = {key: out[key]}
                out[key] = value
            except TypeError:
                out[f"?{i}"] = [key, value]  # both are judged
        return out

    def construct_pairs(loader: Any, node: Any) -> list[Any]:
        pairs = node.value if isinstance(node, yaml.SequenceNode) else []
        return [construct_mapping(loader, p) if isinstance(p, yaml.MappingNode) else
                loader.construct_object(p, deep=True) for p in pairs]  # fmt: skip

    for base in (getattr(yaml, "CSafeLoader", yaml.SafeLoader), yaml.SafeLoader):
        cls: Any = type("Lenient" + base.__name__, (base,), {})
        cls.add_multi_constructor("", construct_undefined)
        cls.add_constructor("tag:yaml.org,2002:map", construct_mapping)
        for tag in ("omap", "pairs"):
            cls.add_constructor(f"tag:yaml.org,2002:{tag}", construct_pairs)
        _LOADERS.append(cls)
    return _LOADERS


_DEPTH = 100


def unshared(docs: list[Any]) -> Iterator[Any]:
    """The documents, each shared object once (an alias is the object it names, judged where it is anchored: a
    billion laughs is walked in the time of its text), bytes as text (!!binary: the reader gets the bytes), and a
    structure nested deeper than the walk goes handed on as a document of its own (nothing is dropped)."""
    seen: set[int] = set()
    deep: list[Any] = []

    def copy(value: Any, depth: int) -> Any:
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        if not isinstance(value, dict | list | tuple):
            return value
        if id(value) in seen:
            return None
        if depth > _DEPTH:
            deep.append(value)
            return None
        seen.add(id(value))
        if isinstance(value, dict):
            return {k: copy(v, depth + 1) for k, v in value.items()}
        return [copy(v, depth + 1) for v in value]

    for doc in docs:
        yield copy(doc, 0)
        while deep:
            seen.discard(id(deep[-1]))
            yield copy(deep.pop(), 0)


# -- the others ----------------------------------------------------------------------------------------------------


def _toml(text: str) -> Iterator[Any]:
    import tomllib

    try:
        yield tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError, ValueError):
        return


def _ini(text: str) -> Iterator[Any]:
    import configparser

    # Keys before any section (my.cnf's includes, a .conf of `key = value` lines) belong to a section of their own;
    # no interpolation (%(x)s is left as written: a reference, which literal() knows), keys as written.
    parser = configparser.RawConfigParser(strict=False, allow_no_value=True, interpolation=None, dict_type=_EveryValue)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # read as a file is, in universal newlines mode
    if _BLOCKS.search(text):
        return  # nginx's `server { ... }`: no INI file (configparser would split `proxy_pass http://x` at its `:`)
    try:
        parser.read_string("[plato:top]\n" + text)
    except (configparser.Error, ValueError):
        return
    # A line with no `=` or `:` is a directive (HAProxy's `user admin insecure-password x`), not an option's
    # name: the file's text is judged for those (credentials.directives).
    yield {name: {k: v for k, v in parser.items(name) if v is not None} for name in parser.sections()}


_BLOCKS = re.compile(r"^[^#;\n]*[{};][ \t]*$", re.M)  # a line that opens or closes a block, or ends a statement


class _EveryValue(dict):  # type: ignore[type-arg]
    """configparser's dict for a section's options that keeps an option given twice: the value read first (a
    list while the file is read) moves to `name (n)`, where it is judged too; the file's bytes hold both."""

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(value, list) and key in self and isinstance(dict.__getitem__(self, key), list):
            dict.__setitem__(self, f"{key} ({len(self)})", dict.__getitem__(self, key))
        dict.__setitem__(self, key, value)


def _properties(text: str) -> Iterator[Any]:
    import javaproperties

    try:
        yield javaproperties.loads(text)
    except (ValueError, UnicodeError):
        return


def _xml(text: str) -> Iterator[Any]:
    """Each element as a mapping: its attributes, its children's texts by tag, its own text under its tag, and a
    name/key attribute (or <name> child) with its value as {name, value} (Maven, Hadoop, Java's XML properties)."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(text)
    except (ET.ParseError, ValueError, RecursionError):
        return
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1] if isinstance(el.tag, str) else ""
        item: dict[str, Any] = dict(el.attrib)
        body = (el.text or "").strip()
        children: dict[str, Any] = {}
        for child in el:
            ctag = child.tag.rsplit("}", 1)[-1] if isinstance(child.tag, str) else ""
            if len(child) == 0 and ctag and not children.get(ctag):
                children[ctag] = (child.text or "").strip()
        for ctag, text in children.items():
            if not item.get(ctag):  # an empty attribute gives way to the child
                item[ctag] = text
        if body:
            item[tag] = body
        name = el.attrib.get("name") or el.attrib.get("key") or _child(children, _NAME_TAG)
        if isinstance(name, str):
            item["name"], item["value"] = name, el.attrib.get("value") or _child(children, _VALUE_TAG) or body
        yield item


# The children that pair a name with a value: <name>/<value>, <key>/<value>, web.xml's <param-name>/<param-value>,
# <env-entry-name>/<env-entry-value>, camel case (<propertyName>/<propertyValue>).
_NAME_TAG = re.compile(r"(?:.*[-_.])?(?:name|key)|.*[a-z](?:Name|Key)")
_VALUE_TAG = re.compile(r"(?:.*[-_.])?value|.*[a-z]Value")


def _child(item: dict[str, Any], tag: re.Pattern[str]) -> Any:
    return next((v for k, v in item.items() if isinstance(k, str) and tag.fullmatch(k) and v), None)


def _sniffed(text: str) -> Iterator[Any]:
    """A file whose name says no kind (a ConfigMap's data item, `/etc/app/config`): its YAML or JSON objects, if
    it holds any (a script or a plain text reads as one string, and is judged as text)."""
    docs = list(_yaml(text)) if ":" in text or "[" in text else []
    return iter(docs if any(isinstance(d, dict | list) for d in docs) else ())


_READERS: dict[str, Callable[[str], Iterator[Any]]] = {
    "yaml": _yaml, "toml": _toml, "ini": _ini, "properties": _properties, "xml": _xml, "sniffed": _sniffed,
}  # fmt: skip
