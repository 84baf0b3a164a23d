"""The Kubernetes CEL library (k8s.io/apiserver/pkg/cel/library) as plain Python functions.

Kubernetes adds opaque types (Quantity, URL, IP, CIDR, Semver) to CEL. cel-expr-python cannot carry a Python
object through an abstract type, so a value of these types is a small tagged map, `{"@k8s": TYPE, "v": TEXT}`,
whose text is canonical: two quantities, addresses or versions that Kubernetes calls equal are equal maps.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

TypeName = Literal["Quantity", "URL", "IP", "CIDR", "Semver"]
TAG = "@k8s"


class K8sError(ValueError):
    """A Kubernetes CEL function given a value it refuses (the API server's error, in its words)."""


def tagged(kind: TypeName, text: str) -> dict[str, str]:
    return {TAG: kind, "v": text}


def untag(value: Any, kind: TypeName) -> str:
    if isinstance(value, dict) and value.get(TAG) == kind:
        return str(value["v"])
    raise K8sError(f"no such overload: expected a {kind}")


def kind_of(value: Any) -> str | None:
    return str(value.get(TAG)) if isinstance(value, dict) and TAG in value else None


# --- Quantity (resource.Quantity) ---

_SUFFIX = {
    **{s: Fraction(1024) ** i for i, s in enumerate(["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]) if s},
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$")


def parse_quantity(text: str) -> Fraction:
    m = _QUANTITY.match(text)
    if not m:
        raise K8sError(f"quantities must match the regular expression '{_QUANTITY.pattern}': {text!r}")
    number = Fraction(m.group(1))
    if m.group(2):
        return number * Fraction(10) ** int(m.group(2)[1:])
    return number * _SUFFIX[m.group(3) or ""]


def _q(value: Any) -> Fraction:
    if isinstance(value, int) and not isinstance(value, bool):
        return Fraction(value)
    return Fraction(untag(value, "Quantity"))


def _qv(number: Fraction) -> dict[str, str]:
    return tagged("Quantity", str(number))


def quantity(text: str) -> dict[str, str]:
    return _qv(parse_quantity(text))


def _as_integer(value: Any) -> int:
    n = _q(value)
    if n.denominator != 1 or not -(2**63) <= n.numerator < 2**63:
        raise K8sError("cannot convert value to integer")
    return n.numerator


def _sign(n: Fraction) -> int:
    return (n > 0) - (n < 0)


# --- URL ---


def url(text: str) -> dict[str, str]:
    parts = urlsplit(text)
    if not text.startswith("/") and not parts.scheme:
        raise K8sError(f"URL {text!r} must be an absolute URI or an absolute path")
    return tagged("URL", text)


def _url_part(value: Any, part: Literal["scheme", "host", "hostname", "port", "path"]) -> str:
    parts = urlsplit(untag(value, "URL"))
    if part == "scheme":
        return parts.scheme
    if part == "host":
        return parts.netloc.rsplit("@", 1)[-1]
    if part == "hostname":
        return parts.hostname or ""
    if part == "port":
        return str(parts.port) if parts.port is not None else ""
    return parts.path


def _url_query(value: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(untag(value, "URL")).query, keep_blank_values=True)


# --- IP and CIDR ---


def _ip_obj(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if "%" in text:
        raise K8sError(f"IP address with zone value is not allowed: {text!r}")
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        raise K8sError(f"IP Address {text!r} parse error") from None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        raise K8sError(f"IPv4-mapped IPv6 address is not allowed: {text!r}")
    return addr


def ip(text: str) -> dict[str, str]:
    return tagged("IP", str(_ip_obj(text)))


def _addr(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return _ip_obj(value if isinstance(value, str) else untag(value, "IP"))


def cidr(text: str) -> dict[str, str]:
    try:
        net = ipaddress.ip_interface(text)
    except ValueError:
        raise K8sError(f"network address {text!r} parse error") from None
    if "/" not in text:
        raise K8sError(f"network address {text!r} has no prefix length")
    return tagged("CIDR", str(net))


def _net(value: Any) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    return ipaddress.ip_interface(cidr(value)["v"] if isinstance(value, str) else untag(value, "CIDR"))


def _contains_cidr(outer: Any, inner: Any) -> bool:
    a, b = _net(outer).network, _net(inner).network
    return a.version == b.version and b.subnet_of(a)  # type: ignore[arg-type]


def _is_canonical(text: str) -> bool:
    return str(_ip_obj(text)) == text


# --- Semver ---

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$"
)


def semver(text: str, normalize: bool = False) -> dict[str, str]:
    if normalize:
        text = _normalize_semver(text)
    if not _SEMVER.match(text):
        raise K8sError(f"invalid semver {text!r}")
    return tagged("Semver", text.split("+", 1)[0])


def _normalize_semver(text: str) -> str:
    """As Kubernetes' semver(text, true): no leading "v", missing minor and patch are 0, no leading zeros."""
    m = re.match(r"^v?([0-9.]*)(.*)$", text)
    assert m is not None  # every text matches
    numbers = [str(int(p)) if p.isdigit() else p for p in m.group(1).split(".")]
    return ".".join(numbers + ["0"] * (3 - len(numbers))) + m.group(2)


def _semver_key(value: Any) -> tuple[Any, ...]:
    m = _SEMVER.match(untag(value, "Semver"))
    assert m is not None  # tagged only after the same match
    pre = m.group(4)
    # A pre-release sorts before its release; numeric identifiers before alphanumeric ones.
    pre_key = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")) if pre else ()
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)), 0 if pre else 1, pre_key)


# --- members shared by several types: dispatch on the tag ---


def compare_to(a: Any, b: Any) -> int:
    if kind_of(a) == "Semver":
        ka, kb = _semver_key(a), _semver_key(b)
        return (ka > kb) - (ka < kb)
    return _sign(_q(a) - _q(b))


def add(a: Any, b: Any) -> dict[str, str]:
    return _qv(_q(a) + _q(b))


def sub(a: Any, b: Any) -> dict[str, str]:
    return _qv(_q(a) - _q(b))


# --- regex and lists ---


def find(text: str, pattern: str) -> str:
    m = re.search(pattern, text)
    return m.group(0) if m else ""


def find_all(text: str, pattern: str, limit: int = -1) -> list[str]:
    found = [m.group(0) for m in re.finditer(pattern, text)]
    return found if limit < 0 else found[:limit]


def _comparable(items: Sequence[Any]) -> list[Any]:
    if items and kind_of(items[0]) == "Quantity":
        return [_q(x) for x in items]
    if items and kind_of(items[0]) == "Semver":
        return [_semver_key(x) for x in items]
    return list(items)


def is_sorted(items: Sequence[Any]) -> bool:
    keys = _comparable(items)
    return all(a <= b for a, b in itertools.pairwise(keys))


def _extreme(items: Sequence[Any], pick: Callable[[list[Any]], Any]) -> Any:
    if not items:
        raise K8sError("min called on empty list" if pick is min else "max called on empty list")
    keys = _comparable(items)
    return items[keys.index(pick(keys))]


def list_sum(items: Sequence[Any]) -> Any:
    if items and kind_of(items[0]) == "Quantity":
        return _qv(sum((_q(x) for x in items), Fraction(0)))
    return sum(items)


def index_of(items: Sequence[Any], value: Any) -> int:
    return next((i for i, x in enumerate(items) if x == value), -1)


def last_index_of(items: Sequence[Any], value: Any) -> int:
    return next((i for i in range(len(items) - 1, -1, -1) if items[i] == value), -1)


def _valid(parse: Callable[[str], Any]) -> Callable[[str], bool]:
    def check(text: str) -> bool:
        try:
            parse(text)
        except (K8sError, ValueError):
            return False
        return True

    return check


Arity = Literal["global", "member"]
# (name, arity, parameter types, implementation). Parameter types, receiver first: S string, L list, I int,
# B bool, D any. A string or list receiver keeps an overload apart from cel's own functions of the same name.
FUNCTIONS: tuple[tuple[str, Arity, str, Callable[..., Any]], ...] = (
    ("quantity", "global", "S", quantity),
    ("isQuantity", "global", "S", _valid(quantity)),
    ("url", "global", "S", url),
    ("isURL", "global", "S", _valid(url)),
    ("ip", "global", "S", ip),
    ("isIP", "global", "S", _valid(ip)),
    ("ip.isCanonical", "global", "S", _is_canonical),
    ("cidr", "global", "S", cidr),
    ("isCIDR", "global", "S", _valid(cidr)),
    ("semver", "global", "S", semver),
    ("semver", "global", "SB", semver),
    ("isSemver", "global", "S", _valid(semver)),
    ("find", "member", "SS", find),
    ("findAll", "member", "SS", find_all),
    ("findAll", "member", "SSI", find_all),
    ("isSorted", "member", "L", is_sorted),
    ("sum", "member", "L", list_sum),
    ("min", "member", "L", lambda xs: _extreme(xs, min)),
    ("max", "member", "L", lambda xs: _extreme(xs, max)),
    ("indexOf", "member", "LD", index_of),
    ("lastIndexOf", "member", "LD", last_index_of),
    ("compareTo", "member", "DD", compare_to),
    ("isGreaterThan", "member", "DD", lambda a, b: compare_to(a, b) > 0),
    ("isLessThan", "member", "DD", lambda a, b: compare_to(a, b) < 0),
    ("add", "member", "DD", add),
    ("sub", "member", "DD", sub),
    ("isInteger", "member", "D", lambda q: _q(q).denominator == 1),
    ("asInteger", "member", "D", _as_integer),
    ("asApproximateFloat", "member", "D", lambda q: float(_q(q))),
    ("sign", "member", "D", lambda q: _sign(_q(q))),
    ("getScheme", "member", "D", lambda u: _url_part(u, "scheme")),
    ("getHost", "member", "D", lambda u: _url_part(u, "host")),
    ("getHostname", "member", "D", lambda u: _url_part(u, "hostname")),
    ("getPort", "member", "D", lambda u: _url_part(u, "port")),
    ("getEscapedPath", "member", "D", lambda u: _url_part(u, "path")),
    ("getQuery", "member", "D", _url_query),
    ("family", "member", "D", lambda a: _addr(a).version),
    ("isUnspecified", "member", "D", lambda a: _addr(a).is_unspecified),
    ("isLoopback", "member", "D", lambda a: _addr(a).is_loopback),
    ("isLinkLocalMulticast", "member", "D", lambda a: _link_local_multicast(_addr(a))),
    ("isLinkLocalUnicast", "member", "D", lambda a: not _addr(a).is_multicast and _addr(a).is_link_local),
    ("isGlobalUnicast", "member", "D", lambda a: _global_unicast(_addr(a))),
    ("containsIP", "member", "DD", lambda c, a: _addr(a) in _net(c).network),
    ("containsCIDR", "member", "DD", _contains_cidr),
    ("ip", "member", "D", lambda c: tagged("IP", str(_net(c).ip))),
    ("masked", "member", "D", lambda c: tagged("CIDR", str(_net(c).network))),
    ("prefixLength", "member", "D", lambda c: _net(c).network.prefixlen),
    ("major", "member", "D", lambda s: _semver_key(s)[0]),
    ("minor", "member", "D", lambda s: _semver_key(s)[1]),
    ("patch", "member", "D", lambda s: _semver_key(s)[2]),
)


def _link_local_multicast(a: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # As Go's net.IP.IsLinkLocalMulticast, which Kubernetes calls: 224.0.0.0/24 and ff02::/16.
    net = ipaddress.ip_network("224.0.0.0/24" if a.version == 4 else "ff02::/16")
    return a in net


def _global_unicast(a: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return not (a.is_unspecified or a.is_loopback or a.is_multicast or a.is_link_local) and a != ipaddress.ip_address(
        "255.255.255.255"
    )
