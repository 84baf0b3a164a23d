"""The CEL library with the Kubernetes functions policies use: each case is what the API server answers."""

from __future__ import annotations

from typing import Any

import pytest

from generator.check.cel import CelCompileError, CelEvalError, compile_expression

OBJ = {
    "metadata": {"name": "web", "labels": {"env": "prod"}},
    "spec": {
        "replicas": 3,
        "template": {
            "spec": {
                "containers": [
                    {"name": "a", "image": "nginx:1.25", "resources": {"requests": {"cpu": "250m", "memory": "1Gi"}}},
                    {"name": "b", "image": "redis"},
                ]
            }
        },
    },
}
CONTAINERS = "object.spec.template.spec.containers"


def run(expr: str, **data: Any) -> Any:
    return compile_expression(expr).run({"object": OBJ, **data})


@pytest.mark.parametrize(
    ("expr", "want"),
    [
        # core: has(), macros, optionals, strings extension, format
        ("has(object.spec.replicas) && !has(object.spec.paused)", True),
        (f"{CONTAINERS}.all(c, c.name.size() == 1)", True),
        (f"{CONTAINERS}.exists(c, c.image == 'redis')", True),
        (f"{CONTAINERS}.exists_one(c, has(c.resources))", True),
        (f"{CONTAINERS}.map(c, c.name)", ["a", "b"]),
        (f"{CONTAINERS}.filter(c, !has(c.resources)).map(c, c.name)", ["b"]),
        ("object.?spec.?strategy.?type.orValue('RollingUpdate')", "RollingUpdate"),
        ("object.metadata.labels[?'env'].orValue('')", "prod"),
        ("'%s has %d replicas'.format([object.metadata.name, object.spec.replicas])", "web has 3 replicas"),
        ("'a,b'.split(',').join('-').upperAscii()", "A-B"),
        ("object.metadata.name.matches('^[a-z]+$')", True),
        ("'registry.io/app:v1.2'.find(':[^:/]+$')", ":v1.2"),
        ("'a1b22c333'.findAll('[0-9]+')", ["1", "22", "333"]),
        ("'a1b22c333'.findAll('[0-9]+', 2)", ["1", "22"]),
        ("cel.bind(c, object.spec.template.spec.containers, c.size() == 2 && c[0].name == 'a')", True),
        ("base64.decode(base64.encode(b'plato')) == b'plato'", True),
        ("math.greatest([1, 5, 3])", 5),
        # lists
        ("[1, 2, 3].isSorted() && ![2, 1].isSorted()", True),
        ("[1, 2, 3].sum()", 6),
        ("[3, 1, 2].min() == 1 && [3, 1, 2].max() == 3", True),
        ("['x', 'y', 'x'].indexOf('x') == 0 && ['x', 'y', 'x'].lastIndexOf('x') == 2", True),
        ("['x'].indexOf('z')", -1),
        # quantity
        ("quantity('1Gi').isGreaterThan(quantity('1000Mi'))", True),
        ("quantity('250m').compareTo(quantity('0.25'))", 0),
        ("quantity('1k') == quantity('1000')", True),
        ("quantity('1.5').isInteger()", False),
        ("quantity('2k').asInteger()", 2000),
        ("quantity('500m').asApproximateFloat()", 0.5),
        ("quantity('1Gi').add(quantity('1Gi')) == quantity('2Gi')", True),
        ("quantity('1').sub(2).sign()", -1),
        ("isQuantity('10Mi') && !isQuantity('10 MB')", True),
        (f"[{CONTAINERS}[0].resources.requests].all(q, quantity(q.memory).isGreaterThan(quantity(q.cpu)))", True),
        ("[quantity('1'), quantity('2Ki')].sum() == quantity('2049')", True),
        # url
        ("url('https://user@example.com:8443/a%20b?x=1&x=2').getHost()", "example.com:8443"),
        ("url('https://example.com:8443/p').getHostname()", "example.com"),
        ("url('https://example.com:8443/p').getPort()", "8443"),
        ("url('https://example.com/p').getScheme()", "https"),
        ("url('https://example.com/a%20b').getEscapedPath()", "/a%20b"),
        ("url('https://e.com/?x=1&x=2&y=').getQuery()", {"x": ["1", "2"], "y": [""]}),
        ("isURL('/relative/path') && !isURL('no scheme')", True),
        # ip and cidr
        ("ip('10.0.0.1').family() == 4 && ip('::1').family() == 6", True),
        ("ip('127.0.0.1').isLoopback() && ip('0.0.0.0').isUnspecified()", True),
        ("ip('169.254.1.1').isLinkLocalUnicast() && ip('224.0.0.1').isLinkLocalMulticast()", True),
        ("ip('8.8.8.8').isGlobalUnicast() && !ip('127.0.0.1').isGlobalUnicast()", True),
        ("ip.isCanonical('2001:db8::1') && !ip.isCanonical('2001:DB8::1')", True),
        ("isIP('1.2.3.4') && !isIP('1.2.3') && !isIP('::ffff:1.2.3.4')", True),
        ("cidr('10.0.0.0/8').containsIP(ip('10.2.3.4')) && !cidr('10.0.0.0/8').containsIP('11.0.0.1')", True),
        ("cidr('10.0.0.0/8').containsCIDR('10.1.0.0/16') && !cidr('10.1.0.0/16').containsCIDR('10.0.0.0/8')", True),
        ("cidr('192.168.1.5/24').masked() == cidr('192.168.1.0/24')", True),
        ("cidr('192.168.1.5/24').prefixLength()", 24),
        ("cidr('192.168.1.5/24').ip() == ip('192.168.1.5')", True),
        ("isCIDR('10.0.0.0/8') && !isCIDR('10.0.0.0')", True),
        # semver
        ("semver('1.10.0').isGreaterThan(semver('1.9.9'))", True),
        ("semver('1.0.0-rc.1').isLessThan(semver('1.0.0'))", True),
        ("semver('1.0.0-alpha.2').compareTo(semver('1.0.0-alpha.10'))", -1),
        ("semver('v1.2', true) == semver('1.2.0')", True),
        ("semver('1.2.3').major() * 100 + semver('1.2.3').minor() * 10 + semver('1.2.3').patch()", 123),
        ("isSemver('1.2.3+build.5') && !isSemver('1.2')", True),
    ],
)
def test_kubernetes_cel(expr: str, want: Any) -> None:
    assert run(expr) == want


@pytest.mark.parametrize(
    ("expr", "words"),
    [
        ("object.spec.nope == 1", "nope"),
        ("quantity('ten')", "quantities must match"),
        ("cidr('10.0.0.0')", "prefix length"),
        ("semver('1.2')", "invalid semver"),
        ("[].min()", "empty list"),
        ("quantity('1.5').asInteger()", "cannot convert"),
    ],
)
def test_evaluation_errors_are_reported_not_passed(expr: str, words: str) -> None:
    with pytest.raises(CelEvalError, match=words):
        run(expr)


@pytest.mark.parametrize("expr", ["object.spec.(", "object.spec.replicas <", "objekt.spec", "nosuchfn(object)"])
def test_compile_errors(expr: str) -> None:
    with pytest.raises(CelCompileError):
        compile_expression(expr)


def test_authorizer_compiles_and_needs_the_cluster() -> None:
    prog = compile_expression("authorizer.group('apps').resource('deployments').check('delete').allowed()")
    assert prog.needs_cluster
    with pytest.raises(CelEvalError, match="needs the cluster"):
        prog.run({"object": OBJ})
    assert not compile_expression("object.spec.replicas > 1").needs_cluster


def test_variable_references_are_found_for_lazy_evaluation() -> None:
    prog = compile_expression("variables.containers.all(c, c.x) && size(variables . other) > 0 || object.variables")
    assert prog.variables == {"containers", "other"}
