"""The object-level diff: what a preview, a PR body and a fleet re-render report per object."""

from __future__ import annotations

from generator.create.emit import dump_yaml
from generator.deploy.diff import compare


def deployment(name: str, replicas: int = 2, memory: str = "256Mi", ns: str = "shop") -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": name, "memory": memory}]}}},
    }


def service(name: str, ns: str = "shop") -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": {"ports": []}}


def yaml_file(*objs: dict) -> bytes:
    """The objects in the order given (plato sorts them; a hand-edited file may not be)."""
    return "".join("---\n" + dump_yaml(o) for o in objs).encode()


def run(old: bytes | None, new: bytes | None, path: str = "k8s/shop/manifests.yaml"):
    return compare("dev", "shop", {path: old} if old is not None else {}, {path: new} if new is not None else {}, set())


def test_one_changed_object_among_many_is_the_only_change_reported() -> None:
    old = yaml_file(service("api"), deployment("api"), service("worker"), deployment("worker"))
    new = yaml_file(service("api"), deployment("api", memory="320Mi"), service("worker"), deployment("worker"))
    cs = run(old, new)
    assert [(c.kind, c.name, c.status) for c in cs.changes] == [("Deployment", "shop/api", "changed")]
    assert "-" in cs.changes[0].diff and "320Mi" in cs.changes[0].diff
    assert cs.counts() == {"Deployment": {"added": 0, "changed": 1, "removed": 0}}
    assert cs.risks == []


def test_added_removed_and_reordered_objects() -> None:
    old = yaml_file(service("api"), deployment("api"), service("old"))
    new = yaml_file(deployment("api"), service("api"), service("new"))  # reordered: not a change
    cs = run(old, new)
    assert sorted((c.kind, c.name, c.status) for c in cs.changes) == [
        ("Service", "shop/new", "added"),
        ("Service", "shop/old", "removed"),
    ]
    assert cs.risks == ["deletes Service shop/old"]


def test_a_namespace_move_is_a_risk_not_an_unrelated_delete_and_add() -> None:
    cs = run(yaml_file(deployment("api", ns="a")), yaml_file(deployment("api", ns="b")))
    assert cs.risks == ["moves Deployment api from namespace a to b"]


def test_scaling_to_zero_is_a_risk_once_and_staying_at_zero_is_not() -> None:
    cs = run(yaml_file(deployment("api", replicas=3)), yaml_file(deployment("api", replicas=0)))
    assert cs.risks == ["scales Deployment api to zero replicas"]
    cs = run(yaml_file(deployment("api", replicas=0)), yaml_file(deployment("api", replicas=0), service("x")))
    assert cs.risks == []


def test_documents_the_text_split_cannot_separate_are_still_diffed_correctly() -> None:
    """A directive before `---`, or content on the marker line: the fast split leaves a chunk that does not parse
    alone (or holds two documents), and the diff falls back to parsing whole files."""
    old = b"%YAML 1.1\n---\n" + yaml_file(deployment("api")).removeprefix(b"---\n")
    new = b"%YAML 1.1\n---\n" + yaml_file(deployment("api", memory="1Gi")).removeprefix(b"---\n")
    cs = run(old, new)
    assert [(c.name, c.status) for c in cs.changes] == [("shop/api", "changed")]
    two = b"--- {kind: Service, metadata: {name: a}}\n--- {kind: Service, metadata: {name: b}}\n"
    cs = run(two, b"--- {kind: Service, metadata: {name: a}}\n")
    assert [(c.name, c.status) for c in cs.changes] == [("b", "removed")]


def test_a_file_that_is_not_yaml_any_more_is_a_file_change_without_objects() -> None:
    cs = run(yaml_file(service("api")), b"key: [unclosed\n")
    assert cs.files == {"k8s/shop/manifests.yaml": "changed"}
    assert [(c.kind, c.status) for c in cs.changes] == [("Service", "removed")]


def test_without_diffs_the_same_changes_and_risks_are_found() -> None:
    """A push-mode re-render reads objects untyped (faster); what it reports must not differ."""
    pairs = [
        (yaml_file(service("api"), deployment("api")), yaml_file(service("api"), deployment("api", memory="1Gi"))),
        (yaml_file(deployment("api", replicas=3)), yaml_file(deployment("api", replicas=0))),
        (yaml_file(deployment("api", ns="a"), service("x")), yaml_file(deployment("api", ns="b"))),
    ]
    for old, new in pairs:
        path = "k8s/shop/manifests.yaml"
        full = compare("dev", "shop", {path: old}, {path: new}, set())
        fast = compare("dev", "shop", {path: old}, {path: new}, set(), with_diffs=False)
        assert [(c.kind, c.name, c.status) for c in fast.changes] == [(c.kind, c.name, c.status) for c in full.changes]
        assert fast.risks == full.risks and fast.counts() == full.counts()
        assert all(c.diff == "" for c in fast.changes)


def test_objects_a_render_wrote_are_not_parsed_back_and_change_nothing_reported(monkeypatch) -> None:
    """The new side's documents come with the objects plato wrote them from: only the old side is parsed, and the
    changes, risks and diffs are the ones a parse of both sides finds, with and without diffs."""
    from generator.create.emit import dump_documents, ordered
    from generator.deploy import diff

    path = "k8s/shop/manifests.yaml"
    pairs = [
        ([service("api"), deployment("api")], [service("api"), deployment("api", memory="1Gi")]),
        ([deployment("api", replicas=3), service("b")], [deployment("api", replicas=0), service("a")]),
        ([deployment("api", ns="a"), service("x")], [deployment("api", ns="b")]),
        ([deployment("api", memory="1Gi")], [deployment("api", memory="1Gi")]),
    ]
    parsed: list[bytes] = []
    real = diff._parse_objects
    monkeypatch.setattr(diff, "_parse_objects", lambda texts, typed=True: parsed.extend(texts) or real(texts, typed))
    for before, after in pairs:
        old = yaml_file(*reversed(before))  # hand-ordered: not as plato writes it
        new = dump_documents(after).encode()
        for with_diffs in (True, False):
            parsed.clear()
            slow = compare("dev", "shop", {path: old}, {path: new}, set(), with_diffs)
            assert any(t in new for t in parsed) or old == new
            parsed.clear()
            fast = compare("dev", "shop", {path: old}, {path: new}, set(), with_diffs, {path: ordered(after)})
            assert not any(t in new and t not in old for t in parsed)
            assert [(c.kind, c.name, c.status, c.diff) for c in fast.changes] == [
                (c.kind, c.name, c.status, c.diff) for c in slow.changes
            ]
            assert fast.risks == slow.risks and fast.files == slow.files


def test_objects_that_do_not_match_the_documents_are_not_used() -> None:
    """One object per document, or the file is parsed as it is."""
    path = "k8s/shop/manifests.yaml"
    old, new = yaml_file(deployment("api")), yaml_file(deployment("api", memory="1Gi"), service("api"))
    cs = compare("dev", "shop", {path: old}, {path: new}, set(), written={path: [deployment("api", memory="9Gi")]})
    assert [(c.kind, c.status) for c in cs.changes] == [("Deployment", "changed"), ("Service", "added")]
    assert "1Gi" in cs.changes[0].diff and "9Gi" not in cs.changes[0].diff
