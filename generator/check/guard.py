"""The check stage's secret guard: nothing that looks like a credential leaves plato.

Every rendered file is checked as the bytes that will be written, and YAML files object by object too, so that
keys are judged by what they name and a finding has a line: the objects a file was written from when plato wrote
it (the render hands them over with the bytes, so plato's own output is not parsed back), else the file read
back. The workload specs and the context are checked before they are recorded, and each commit message. A
finding is exit 2 naming the file and line and what to do; nothing has been written yet. What is only printed
(messages, PR bodies) is masked instead: see `mask`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from generator.check import configs
from generator.credentials import (
    Lang,
    client_passwords,
    credential_key,
    credentials_list,
    directives,
    first,
    label,
    literal,
    name_like,
    shown_name,
    store_lines,
    value_in_name,
)
from generator.errors import UserError
from generator.read.placeholders import Ref

if TYPE_CHECKING:
    from generator.create.render import RenderedTree
    from generator.read.models import Workload

Loc = tuple[str | int, ...]
Checked = Callable[[str, bytes], bool]  # whether these bytes at this path were checked as they left before


class LastWrite(Protocol):
    """A Checked that also knows the documents of the file this version of plato last wrote (and checked) at a
    path, as text: a document written again to the same text is the same object, judged then (see check_blob)."""

    def __call__(self, path: str, data: bytes) -> bool: ...

    def documents(self, path: str) -> Collection[bytes]: ...


REFERENCE_HINT = (
    "no secret value may reach the deployment repository: declare it as a secret output of a resource and "
    "write ${resources.<name>.<output>} (it is written as a reference, never as a value)"
)
SECRET_HINT = "secrets reach the cluster by reference: ExternalSecret, an operator's Secret, or a password generator"


class Hit:
    """One finding inside a structured value: what, where (the path of keys) and the key it sits under."""

    __slots__ = ("loc", "what")

    def __init__(self, what: str, loc: Loc) -> None:
        self.what, self.loc = what, loc


def find_in(value: Any, loc: Loc = (), lang: Lang = "object") -> Hit | None:
    """The first credential in a structured value: its keys, its strings, a Secret with data of any spelling.
    `lang`: what reads its strings (credentials.Lang): "object" for manifests and specs, "config" for a config
    file read back as the objects it holds."""
    hit = _walk(value, lang)
    if hit is not None and loc:
        hit.loc = (*loc, *hit.loc)
    return hit


def _walk(value: Any, lang: Lang) -> Hit | None:
    # The path of a finding is built on the way back up, only for a finding: the walk meets every key and string
    # of every object plato writes (hundreds per app), and judges each distinct one once per process.
    if isinstance(value, dict):
        return _mapping(value, lang)
    if isinstance(value, list):
        return _sequence(value, lang)
    if isinstance(value, str):
        found = first(value, "text" if lang == "object" else lang)  # a string of an object: a file of any kind
        return Hit(found.what, ()) if found else None
    return None


@lru_cache(maxsize=16384)
def _key(name: str) -> tuple[str | None, bool]:
    """A mapping key: what it holds if it looks like a credential itself, and whether it names one."""
    found = first(name, assignments=False) or next(store_lines(name), None)  # a store's rule as a key, too
    if found is None and value_in_name(name):  # `DB_PASSWORD hunter2`: the name goes on with a value
        return "a value after a credential's name", False
    return (found.what if found else None), credential_key(name)


def _key_of(name: str) -> tuple[str | None, bool]:
    """_key, remembered for the keys a fleet repeats; a longer key (rare, and not repeated) is judged afresh."""
    return _key(name) if len(name) <= 512 else _key.__wrapped__(name)


def _mapping(value: dict[Any, Any], lang: Lang) -> Hit | None:
    kind = value.get("kind")
    if isinstance(kind, str) and kind.strip().lower() == "secret" and (value.get("data") or value.get("stringData")):
        return Hit("a Secret with data", ())
    if kind == "ConfigMap" and isinstance(value.get("data"), dict):
        hit = _config_map_files(value["data"])
        if hit:
            return hit
    pair = _name_value(value)
    if pair and value_in_name(pair[0]):
        return Hit("a value after a credential's name", ("name",))
    if pair and credential_key(pair[0]) and literal(pair[1], lang):
        return Hit(f"a literal value for '{pair[0]}'", ("value",))
    command, args = value.get("command"), value.get("args")
    if isinstance(command, list) and isinstance(args, list):  # a container's command line, in two parts
        hit = _client_password([*command, *args])
        if hit:
            at = int(hit.loc[0])
            hit.loc = ("command", at) if at < len(command) else ("args", at - len(command))
            return hit
    env = value.get("env")
    if isinstance(env, list):
        hit = _expanded_env(env)
        if hit:
            return hit
    for key, item in value.items():
        if key == "data" and kind == "ConfigMap" and isinstance(item, dict):
            item = {k: v for k, v in item.items() if not (isinstance(v, str) and "\n" in v)}  # judged as files
        name = key if type(key) is str else _key_text(key)
        held, names_credential = _key_of(name)
        if held:
            return Hit(f"{held} in a key", (name,))
        if names_credential and literal(item, lang) and not _reference_field(name, value) and not label(name, item):
            return Hit(f"a literal value for '{name}'", (name,))
        # password: [x, y] in a config file; an item that is a name is none (compose's `secrets: [db_password]`)
        if names_credential and lang == "config" and isinstance(item, list):
            named = not credentials_list(name)  # under `passwords`, `[hunter2]` is one, not a name
            item_at = next((i for i, v in enumerate(item) if literal(v, lang) and not (named and _name_item(v))), -1)
            if item_at >= 0:
                return Hit(f"a literal value for '{name}'", (name, item_at))
        hit = _walk(item, lang)
        if hit:
            hit.loc = (name, *hit.loc)
            return hit
    return None


def _config_map_files(data: dict[Any, Any]) -> Hit | None:
    """A ConfigMap's files (each value of more than one line) judged as their readers read them, by the kind
    their key names, or by what they hold (see _file_hit): as the spec's files were."""
    for key, text in data.items():
        if isinstance(text, str) and "\n" in text:
            hit = _file_hit(str(key), text)
            if hit:
                hit.loc = ("data", key, *hit.loc)
                return hit
    return None


def _key_text(key: Any) -> str:
    """A key that is no string (a YAML 1.1 int, a date) as text; an int too long for str() is named by its kind."""
    try:
        return str(key)
    except ValueError:
        return type(key).__name__


_EXPANDED_MAX = 1 << 16
_K8S_REF = re.compile(r"(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def _expanded_env(env: list[Any]) -> Hit | None:
    """A container's environment as Kubernetes expands it: $(NAME) is the value of an earlier variable (or of one
    from envFrom, unknown here: left out). A token cut into parts, or split by a reference to an empty variable,
    is whole again there: each value that holds a reference is judged as it will be expanded."""
    defined: dict[str, str] = {}
    for i, item in enumerate(env):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        value = item.get("value")
        if not isinstance(value, str):
            continue
        if "$(" in value:
            expanded = _K8S_REF.sub(lambda m: defined.get(m.group(1), m.group()), value)
            if len(expanded) > _EXPANDED_MAX:  # each doubling the one before: judged as written, not expanded
                expanded = value
            for text in {expanded, _K8S_REF.sub("", expanded)} - {value}:
                found = first(text, assignments=False)
                if found:
                    return Hit(f"{found.what} (as Kubernetes expands the variable)", ("env", i, "value"))
            value = expanded
        defined[item["name"]] = value
    return None


def _name_value(value: dict[Any, Any]) -> tuple[str, Any] | None:
    """An environment variable, an HTTP header, a Helm `set` value: {name: X, value: Y} is X = Y."""
    name = value.get("name")
    return (name, value["value"]) if isinstance(name, str) and "value" in value else None


def _name_item(value: Any) -> bool:
    """An item of a list under a credential's name that names something: a method or a mode (`oidc`, `Ldap`), or
    a name (`db_password`)."""
    return isinstance(value, str) and (bool(_WORD_ITEM.fullmatch(value)) or name_like(value))


_WORD_ITEM = re.compile(r"[A-Za-z][a-z]{0,11}")


def _reference_field(key: str, mapping: dict[Any, Any]) -> bool:
    """An ExternalSecret data item's `secretKey` names a key of the Secret it makes, not a credential."""
    return key == "secretKey" and "remoteRef" in mapping


def _sequence(value: list[Any], lang: Lang) -> Hit | None:
    client = _client_password(value)  # first: "-pSECRET" is no flag name to quote in a message
    if client:
        return client
    for i, item in enumerate(value):
        hit = _walk(item, lang)
        if hit:
            hit.loc = (i, *hit.loc)
            return hit
        # ["--password", "hunter2"]: a credential-named flag and its literal value as the next argument.
        flag = isinstance(item, str) and _FLAG.fullmatch(item) is not None and i + 1 < len(value)
        if (
            flag
            and credential_key(item.lstrip("-"))
            and literal(value[i + 1], lang)  # an argument: in an object, only Kubernetes' $(NAME) expands in it
            and not str(value[i + 1]).startswith("-")
        ):
            # A long option is a name to quote; a short one may have its value glued to it (-pSECRET).
            return Hit(f"a literal value for '{item}'" if item.startswith("--") else "a literal value after a "
                       "credential flag", (i + 1,))  # fmt: skip
        # ["-u", "admin:pw"]: curl's and wget's user and password in one argument.
        if isinstance(item, str) and item in USER_FLAGS and i + 1 < len(value) and isinstance(value[i + 1], str):
            pair = USER_PASSWORD.fullmatch(value[i + 1])
            if pair and literal(pair.group("pw")):
                return Hit(f"a password after '{item}'", (i + 1,))
    return None


def _client_password(value: list[Any]) -> Hit | None:
    """["mysql", "-uroot", "-pSECRET"], ["sshpass", "-p", "SECRET", "ssh", ...]: a client's password in an argument
    list, read as the command line it is (see credentials.client_passwords)."""
    if len(value) < 2 or not all(isinstance(v, str) for v in value):
        return None
    line, ends = "", []
    for v in value:
        line += ("" if not line else " ") + v
        ends.append(len(line))
    # Run as it is (a container's exec form), unless it hands a script to a shell: sh -c '...'
    shell = value[0].rsplit("/", 1)[-1] in _SHELLS and "-c" in value  # every item is a string (checked above)
    found = next(client_passwords(line, shell=shell), None)
    if found is None:  # a store's rule given on a command line: redis-cli ACL SETUSER alice on >pw
        found = next(((f.start, f.end) for f in store_lines(line)), None)
    if found is None:
        return None
    return Hit("a password on a command line", (next(i for i, e in enumerate(ends) if found[0] < e),))


_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ash", "ksh", "busybox"})
_FLAG = re.compile(r"--?[A-Za-z][A-Za-z0-9_.-]*")  # a flag's name alone (not -p$(PW), not --password=x)
USER_FLAGS = frozenset({"-u", "--user", "--proxy-user", "-U", "--http-user", "--auth"})
USER_PASSWORD = re.compile(r"[^:\s]+:(?P<pw>\S+)")


def described(loc: Loc) -> str:
    """A path of keys as a person reads it: spec.containers[0].env[2].value (no value a key holds: dotted)."""
    from generator.read.schema import dotted

    return dotted(tuple(_shown_key(part) for part in loc)) if loc else ""


def _shown_key(part: str | int) -> str | int:
    """A key on the path as a message may show it: none of a key that holds a credential, cut after a
    credential's word (shown_name), and after the first `:` of a key that holds one (`admin:hunter2` as a parent
    key reads `admin:***`)."""
    if not isinstance(part, str):
        return part
    if _key_of(part)[0]:
        return "***"  # the key holds the credential itself (a token, a store's rule)
    part = shown_name(part)
    head, colon, rest = part.partition(":")
    return f"{head}:***" if colon and rest.strip() and rest != "***" else part


# -- files ---------------------------------------------------------------------------------------------------------

# Blobs already found clean in this process, by digest and by the language they were read in (YAML, as the objects
# they were written from or read back, Terraform, text: the same bytes are judged by each its own way): scanned
# once, however often sent (a publish checks its files when rendered and again as they leave). Bounded: a fleet
# re-render's workers see every app's files.
_CLEAN: set[bytes] = set()
CLEAN_MAX = 20_000


def _clean_key(path: str, data: bytes, docs: list[Any] | None) -> bytes:
    how = b"y" if docs is not None or path.endswith((".yaml", ".yml")) else _lang(path)[0].encode()
    return how + hashlib.blake2b(data, digest_size=16).digest()


def check_blob(path: str, data: bytes, docs: list[Any] | None = None, known: Collection[bytes] = ()) -> None:
    """Refuse a file plato would write if anything in it looks like a credential (exit 2, file:line). `docs`: the
    objects the file was written from, in file order (else a YAML file is read back). `known`: documents, as
    text, that this version of plato wrote and checked before (see LastWrite): a document of `docs` written to
    one of them is that object again (the writer spells distinct values distinctly), and its walk would find
    what it found then, nothing; the file's text is still scanned whole."""
    key = _clean_key(path, data, docs)
    if key in _CLEAN:
        return
    text = data.decode("utf-8", errors="replace")
    if docs is not None:
        _check_documents(path, text, docs, _known_documents(data, docs, known))
        found = first(text, assignments=False)
    elif path.endswith((".yaml", ".yml")):
        _check_yaml(path, text)
        found = first(text, assignments=False)  # the bytes too: what parsing hides (comments, anchors)
    else:
        found = first(text, _lang(path))
    if found:
        raise _refusal(found.what, path, found.line(text))
    if len(_CLEAN) >= CLEAN_MAX:
        _CLEAN.clear()
    _CLEAN.add(key)


def _lang(path: str) -> Lang:
    return "terraform" if path.endswith((".tf", ".tfvars", ".hcl")) else "text"


def _check_yaml(path: str, text: str) -> None:
    import yaml

    from generator.read import plainyaml

    try:
        docs = list(plainyaml.load_all(text))
    except yaml.YAMLError:
        return  # not YAML after all (a rule's extra file): the text scan below still reads every byte
    _check_documents(path, text, docs)


def _known_documents(data: bytes, docs: list[Any], known: Collection[bytes]) -> set[int]:
    """The indexes of the documents written to a text among `known` (none when the texts and `docs` differ in
    number: then which text is which object is not known)."""
    if not known:
        return set()
    from generator.create.emit import documents_of

    texts = documents_of(data)
    return {i for i, t in enumerate(texts) if t in known} if len(texts) == len(docs) else set()


def _check_documents(path: str, text: str, docs: list[Any], known: Collection[int] = ()) -> None:
    for i, doc in enumerate(docs):
        if i in known:
            continue
        hit = find_in(doc)
        if hit:
            raise _refusal(hit.what, path, line_of(text, hit.loc, i), _object_name(doc), hit.loc)


def _object_name(doc: Any) -> str:
    if not isinstance(doc, dict):
        return ""
    name = (doc.get("metadata") or {}).get("name") if isinstance(doc.get("metadata"), dict) else None
    return f"{doc.get('kind')} '{name}'" if name else str(doc.get("kind") or "")


def _refusal(what: str, path: str, line: int | None, obj: str = "", loc: Loc = ()) -> UserError:
    if what == "a Secret with data":
        return UserError(
            f"refusing to write {obj or 'a Secret'} with data into the deployment repository"
            + (f" (at {described(loc)})" if loc else ""),
            file=path,
            line=line,
            hint=SECRET_HINT,
        )
    # No "key: value" shape in the message: the mask would take the description for a credential.
    at = " at ".join(filter(None, [obj, described(loc)]))
    return UserError(
        f"{at or 'the file'} holds {what}; refusing to write it", file=path, line=line, hint=REFERENCE_HINT
    )


def line_of(text: str, loc: Loc, doc_index: int | None = None) -> int | None:
    """The 1-based line of the node at `loc` in a YAML text (in document `doc_index`, or the first document that
    holds the path), or of the deepest node on the way to it."""
    import yaml

    try:
        nodes = list(yaml.compose_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    except yaml.YAMLError:
        return None
    candidates = [nodes[doc_index]] if doc_index is not None and doc_index < len(nodes) else nodes
    best: int | None = None
    for node in candidates:
        depth, line = _follow(node, loc)
        if depth == len(loc):
            return line
        best = best or line
    return best


def _follow(node: Any, loc: Loc) -> tuple[int, int | None]:
    import yaml

    line = node.start_mark.line + 1 if node is not None else None
    for depth, part in enumerate(loc):
        nxt = None
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if str(k.value) == str(part)), None)
            key = next((k for k, v in node.value if str(k.value) == str(part)), None)
            line = key.start_mark.line + 1 if key is not None else line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
            line = nxt.start_mark.line + 1
        if nxt is None:
            return depth, line
        node = nxt
    return len(loc), line


# -- inputs --------------------------------------------------------------------------------------------------------


def check_context(ctx: Mapping[str, str], origin: str = "--context") -> None:
    """Context values go into commit trailers, the record and the README: none may look like a credential."""
    for key, value in ctx.items():
        found = first(value, assignments=False)
        what = found.what if found else ("a literal credential" if credential_key(key) and literal(value) else "")
        if what:
            raise UserError(
                f"context value of '{key}' looks like {what}",
                file=origin,
                hint="secrets never go into the context: it is written into commits, READMEs and recorded inputs",
            )


def check_rendered(
    tree: RenderedTree, workloads: Iterable[Workload], checked: Checked | None = None, recorded: bool = False
) -> None:
    """The check stage: the context, the specs (both are recorded) and every rendered file, before anything is
    written anywhere. A file written from objects is walked as those objects, if its bytes are the ones written.
    `checked`: see check_outgoing. `recorded`: the specs are the ones of a record this very version of plato wrote
    and checked as it left, still there byte for byte (a re-render's, see deploy/rerender.checked_before); they
    were judged then, spec by spec and as the record's text, and are not judged again."""
    check_context(tree.plan.context)
    if not recorded:
        check_workloads(workloads)
    check_outgoing(tree.files, tree.written(tree.files), checked)


def check_workloads(workloads: Iterable[Workload]) -> None:
    """Everything a spec says is recorded (`.plato/inputs/`): extra metadata, annotations, params, files. Named
    at the spec's own line. A mounted file's text is judged as its reader reads it (see _check_files), not as a
    string of the spec."""
    for w in workloads:
        hit = find_in(_without_file_texts(w.raw))
        if hit:
            raise UserError(
                f"workload '{w.name}': {described(hit.loc)} holds {hit.what}; it would be written to the deployment "
                "repository",
                file=w.where.file,
                line=_spec_line(w.where.file, hit.loc),
                hint=_shell_variable_hint(w.raw, hit.loc) + REFERENCE_HINT,
            )
        _check_files(w)


_SHELL_VARIABLE = re.compile(r"\$[A-Za-z_]\w*")


def _shell_variable_hint(raw: Any, loc: Loc) -> str:
    """For a variable's value that reads as a shell's variable (`$DB_PW`): Kubernetes expands only `$(DB_PW)`, so
    the container gets the text as written. Said first, as the likely fix. The value is never shown: `$Tr0ub4dor`
    may be the password itself."""
    value: Any = raw
    for part in loc:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return ""
    if len(loc) < 3 or loc[-2] != "variables" or not isinstance(value, str):
        return ""
    if not _SHELL_VARIABLE.fullmatch(value.strip()):
        return ""
    return "if it names another variable, write it as $(NAME), the one form Kubernetes expands; otherwise "


def _without_file_texts(raw: Any) -> Any:
    """The spec with each file's `content` left out (shallow copies on the way): _check_files judges it."""
    containers = raw.get("containers") if isinstance(raw, dict) else None
    if not isinstance(containers, dict):
        return raw
    out = {}
    for name, c in containers.items():
        files = c.get("files") if isinstance(c, dict) else None
        if isinstance(files, dict):
            c = {**c, "files": {t: _no_content(f) for t, f in files.items()}}
        elif isinstance(files, list):
            c = {**c, "files": [_no_content(f) for f in files]}
        out[name] = c
    return {**raw, "containers": out}


def _no_content(f: Any) -> Any:
    return {k: v for k, v in f.items() if k != "content"} if isinstance(f, dict) else f


def _check_files(w: Workload) -> None:
    """Each file a container mounts, judged as the kind of file its target names (see check/configs.py)."""
    for c in w.containers:
        for f in c.files:
            text = _file_text(f)
            hit = _file_hit(f.target, text) if text else None
            if hit:
                raise UserError.at(
                    f.where,
                    f"workload '{w.name}': file {shown_name(f.target)} of container '{c.name}' holds {hit.what}"
                    + (f" (at {described(hit.loc)})" if hit.loc else "")
                    + "; it would be written to the deployment repository",
                    hint=REFERENCE_HINT,
                )


def _file_text(f: Any) -> str:
    """A file's text as mounted: its placeholders as written, a binary file of a config kind decoded (a UTF-16 or
    Latin-1 config file is text to its reader; an image is left to the scan of its base64)."""
    if f.content:
        return "".join(p.text if isinstance(p, Ref) else p for p in f.content.parts)
    if f.text or not f.binary or configs.kind(f.target) is None:
        return f.text or ""
    return _config_text(base64.b64decode(f.binary))


def _config_text(raw: bytes) -> str:
    """The text a config file's reader gets from bytes that are not UTF-8: by its byte-order mark (UTF-32 before
    UTF-16, whose mark begins UTF-32-LE's), as UTF-32 or UTF-16 without one where its start is ASCII so encoded
    (every byte but one of each 4 or 2 is NUL), else as Latin-1; bytes with NULs otherwise are no text."""
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"),
                       (b"\xfe\xff", "utf-16")):  # fmt: skip
        if raw.startswith(bom):
            return raw.decode(codec, "replace")
    head = raw[: min(len(raw), 256) // 4 * 4]  # whole characters of the widest codec
    for codec, width, at in (("utf-32-le", 4, 0), ("utf-32-be", 4, 3), ("utf-16-le", 2, 0), ("utf-16-be", 2, 1)):
        wide = [head[i::width] for i in range(width)]
        if head and b"\x00" not in wide[at] and not any(any(w) for i, w in enumerate(wide) if i != at):
            return raw.decode(codec, "replace")
    return raw.decode("latin-1") if b"\x00" not in raw else ""


def _file_hit(target: str, text: str) -> Hit | None:
    """The first credential in a mounted file. A file its reader parses is judged as the values it gets (a key its
    parser unescapes, a value continued over lines) and as the text of what parsing drops (comments, and every
    token in the bytes); any other by its text. In a file whose name says a config format, `a.b.c` is text and no
    expression; in HCL it is Terraform's, and in a file of no known kind (code, a script) maybe an expression."""
    if target.strip().lower().endswith(configs.HCL):
        found = first(text, "terraform")
        return Hit(found.what, ()) if found else None
    kind = configs.kind(target)
    lang: Lang = "config" if kind else "text"
    docs = list(configs.values(kind, text))
    if not docs:
        found = first(text, lang) or (next(directives(text), None) if kind else None)
        return Hit(found.what, ()) if found else None
    found = first(text, lang, assignments=False) or first(configs.comments(text), lang)
    found = found or (next(directives(text), None) if kind == "ini" else None)  # a .conf's `name words value`
    if found:
        return Hit(found.what, ())
    for doc in docs:
        hit = find_in(doc, lang=lang)
        if hit:
            return hit
    return None


def _spec_line(file: str, loc: Loc) -> int | None:
    path = Path(file)
    try:
        return line_of(path.read_text(encoding="utf-8"), loc) if path.is_file() else None
    except (OSError, UnicodeDecodeError):
        return None


# -- what leaves: the choke points -----------------------------------------------------------------------------


def check_outgoing(
    files: Mapping[str, bytes],
    documents: Mapping[str, list[Any]] | None = None,
    checked: Checked | None = None,
) -> Mapping[str, bytes]:
    """THE choke point for files: every blob plato commits, pushes or previews passes here (paths included).
    `documents`: the objects some of the files were written from (see check_blob). `checked(path, data)`: whether
    this version of plato has already written these bytes at this path, and so checked them as they left (a
    re-render's tree that still holds what the app's last write left, see deploy/rerender.py): such a file is
    judged as it was then, and is not scanned again."""
    known = getattr(checked, "documents", None)
    for path, data in files.items():
        if checked is not None and checked(path, data):
            continue  # its path was judged with it; the re-render hands the same `checked` to desired()
        found = first(path, assignments=False)
        if found:
            raise _refusal(f"{found.what} in a file path", path, None)
        docs = (documents or {}).get(path)
        check_blob(path, data, docs, known(path) if known is not None and docs is not None else ())
    return files


def check_message(label: str, text: str) -> str:
    """THE choke point for commit messages and trailers: refused, never masked (a commit is forever)."""
    found = first(text)
    if found:
        raise UserError(
            f"{label} would contain {found.what} (line {found.line(text)}); nothing was committed",
            hint="a context value or a name carries it: " + REFERENCE_HINT,
        )
    return text
