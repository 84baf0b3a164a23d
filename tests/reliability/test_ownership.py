"""A publish for (env, app) changes nothing outside its own paths, whatever its inputs say.

(a) Environment rules whose paths escape or are shared are refused; (b) two Environment rules whose paths clash
are caught by the ownership markers; (c) names that would make odd paths are refused at read; (d) symlinks
committed into the deployment repository are never written through; (e) the diff of every publish touches
only the (env, app)'s paths, its record and .gitattributes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SHOP = Path(__file__).resolve().parents[2] / "examples" / "shop"

OTHERS = {  # what other apps and people keep in the deployment repository
    "README.md": "the deployment repository\n",
    "development/cart/manifest.yaml": "cart\n",
    "development/cart/.plato-owner": "development/cart\n",
    "production/shop/manifest.yaml": "shop in production\n",
    "production/shop/.plato-owner": "production/shop\n",
    "terraform/development/cart/main.tf": "# cart\n",
    "cd/dev/development-cart.yaml": "cart app\n",
    ".plato/inputs/development/cart.json": "{}\n",
    "development/shopping/manifest.yaml": "a neighbour whose name starts like ours\n",
    "development/shop-legacy/manifest.yaml": "another neighbour\n",
}


def _owned(env: str, app: str, cluster: str) -> tuple[str, ...]:
    return (f"{env}/{app}/", f"terraform/{env}/{app}/", f"cd/{cluster}/{env}-{app}.yaml")


def _changed(remote, before: str | None, after: str) -> list[str]:
    if before is None:
        return remote.git("ls-tree", "-r", "--name-only", after).splitlines()
    return remote.git("diff", "--name-only", "--no-renames", before, after).splitlines()


def _allowed(path: str, env: str, app: str, cluster: str) -> bool:
    extra = (f".plato/inputs/{env}/{app}.json", ".gitattributes")
    return path in extra or any(
        path == o or (o.endswith("/") and path.startswith(o)) for o in _owned(env, app, cluster)
    )


# -- (a) paths from Environment rules ----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["manifests", "terraform", "cd"])
@pytest.mark.parametrize(
    "pattern",
    [
        "../{env}/{app}",
        "/abs/{env}/{app}",
        "shared",
        "{env}/{app}/../../x",
        "{env}/./{app}",
        "{env}//{app}",
        ".git/{env}/{app}",  # dot folders: git's own, plato's records, a CI system's
        "{env}/.plato/{app}",
        ".github/workflows/{env}-{app}",
        "{env}/{app}/.hidden",
    ],
)
def test_an_environment_rule_path_that_escapes_or_is_shared_is_refused(key, pattern, kit) -> None:
    kit.workload()
    kit.rules(kit.env_rule(paths={key: pattern}))
    remote = kit.bare()
    remote.commit(OTHERS, workdir=kit.tmp / "seed")
    before = remote.snapshot()

    run = kit.cli(kit.args("publish", Path("app/score.yaml"), rules=Path("rules"), repo=remote.path))

    lines = (kit.tmp / "rules" / "50-test.yaml").read_text().splitlines()
    at = next(
        i for i, line in enumerate(lines, 1) if line.strip().startswith(f"{key}:") and i > lines.index("  paths:")
    )
    kit.assert_refused(run, 2, names=["rules/50-test.yaml"], line=at, says=[f"paths.{key} '"])
    assert remote.snapshot() == before
    assert not (kit.tmp.parent / "development").exists() and not Path("/abs").exists()


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        ("{env}/{app.__class__.__name__}", "not a plain field"),
        ("{env}/{app!r}", "not a plain field"),
        ("{env}/{app:>40}", "not a plain field"),
        ("{env}/{app}/{0}", "not a plain field"),
        ("{env}/{ap}", "did you mean 'app'"),
        ("{env}/{app", "not a path pattern"),
    ],
)
def test_a_path_pattern_may_only_name_context_keys(pattern, says, kit) -> None:
    """str.format would read attributes and indexes of the values ('{app.__class__}' names a Python class):
    a path pattern is plain {key} fields only."""
    kit.workload()
    kit.rules(kit.env_rule(paths={"manifests": pattern}))
    run = kit.cli(kit.args("render", Path("app/score.yaml"), rules=Path("rules"), out=kit.tmp / "out"))
    kit.assert_refused(run, 2, names=["rules/50-test.yaml"], says=[says], never=["<class", "'str'"])
    assert not (kit.tmp / "out").exists()


# -- (b) paths that clash between Environment rules ----------------------------------------------------------------


def _clashing_rules(kit, development: str, production: str) -> Path:
    return kit.rules(
        kit.env_rule("development", "development", paths={"manifests": development}),
        kit.env_rule("production", "production", paths={"manifests": production}),
    )


@pytest.mark.parametrize("first", ["production", "development"])
def test_the_second_of_two_apps_whose_paths_clash_is_refused_by_the_ownership_marker(first, kit) -> None:
    """development writes manifests to {app}/{env}, production to {env}/{app}: app 'development' in env
    'production' and app 'production' in env 'development' both land in production/development/."""
    kit.workload()
    rules = _clashing_rules(kit, "{app}/{env}", "{env}/{app}")
    remote = kit.bare()
    pairs = {"production": ("production", "development"), "development": ("development", "production")}
    second = "development" if first == "production" else "production"
    env1, app1 = pairs[first]
    env2, app2 = pairs[second]

    r1 = kit.run(kit.args("publish", Path("app/score.yaml"), env=env1, app=app1, rules=rules, repo=remote.path))
    assert r1.returncode == 0, r1.explain()
    tip, tree = remote.tip(), remote.git("ls-tree", "-r", "main", "production/development")
    assert "production/development/manifest.yaml" in remote.files()

    r2 = kit.run(kit.args("publish", Path("app/score.yaml"), env=env2, app=app2, rules=rules, repo=remote.path))

    kit.assert_refused(r2, 2, says=["belongs to", f"{env1}/{app1}", "production/development/"])
    assert remote.tip() == tip
    assert remote.git("ls-tree", "-r", "main", "production/development") == tree
    assert kit.leftovers() == []


def test_an_app_whose_folder_would_nest_inside_another_apps_folder_is_refused(kit) -> None:
    kit.workload()
    rules = _clashing_rules(kit, "{env}/{app}", "development/{app}/{env}")
    remote = kit.bare()
    assert kit.run(kit.args("publish", Path("app/score.yaml"), rules=rules, repo=remote.path)).returncode == 0
    tip = remote.tip()

    run = kit.run(kit.args("publish", Path("app/score.yaml"), env="production", rules=rules, repo=remote.path))

    kit.assert_refused(run, 2, says=["belongs to development/web"])
    assert remote.tip() == tip


def test_an_app_whose_folder_would_swallow_another_apps_folder_is_refused(kit) -> None:
    kit.workload()
    rules = _clashing_rules(kit, "{env}/{app}", "development/{app}/{env}")
    remote = kit.bare()
    r1 = kit.run(kit.args("publish", Path("app/score.yaml"), env="production", rules=rules, repo=remote.path))
    assert r1.returncode == 0, r1.explain()
    tip = remote.tip()

    run = kit.run(kit.args("publish", Path("app/score.yaml"), rules=rules, repo=remote.path))

    kit.assert_refused(run, 2, says=["belongs to production/web"])
    assert remote.tip() == tip
    assert "development/web/production/manifest.yaml" in remote.files()


def test_two_apps_whose_default_cd_files_collide_are_not_both_published(kit) -> None:
    """Regression test: the default CD path cd/{cluster}/{env}-{app}.yaml is ambiguous and carried no ownership
    check: (env=dev, app=foo-bar) and (env=dev-foo, app=bar) shared cd/dev/dev-foo-bar.yaml, so the second publish
    silently took over the first app's Argo CD Application (exit 0; it then pointed at dev-foo/bar)."""
    kit.workload()
    rules = kit.rules(kit.env_rule("dev", "dev*", cluster="dev"))
    remote = kit.bare()
    r1 = kit.run(kit.args("publish", Path("app/score.yaml"), env="dev", app="foo-bar", rules=rules, repo=remote.path))
    assert r1.returncode == 0, r1.explain()
    application = remote.show("cd/dev/dev-foo-bar.yaml")
    assert "path: dev/foo-bar" in application

    r2 = kit.run(kit.args("publish", Path("app/score.yaml"), env="dev-foo", app="bar", rules=rules, repo=remote.path))

    assert remote.show("cd/dev/dev-foo-bar.yaml") == application, "the first app's Application was taken over"
    assert r2.returncode == 2, r2.explain()


# -- (c) names that would make odd paths -----------------------------------------------------------------------------


def test_a_workload_name_that_would_make_an_odd_path_is_refused_at_read(kit) -> None:
    spec = kit.workload("app/score.yaml", kit.score("x/../../etc"))
    remote = kit.bare()
    before = remote.snapshot()

    run = kit.run(kit.args("publish", spec.relative_to(kit.tmp), repo=remote.path))

    kit.assert_refused(run, 2, names=["app/score.yaml"], line=3, says=["metadata.name", "is not valid"])
    assert remote.snapshot() == before


# -- (d) symlinks in the deployment repository -------------------------------------------------------------------


def _victim(kit) -> Path:
    victim = kit.tmp / "somewhere"
    victim.mkdir()
    (victim / "keep.txt").write_text("victim\n", encoding="utf-8")
    return victim


def _publish_shop(kit, remote, image: str = "ghcr.io/acme/shop:1.0", env: str = "development"):
    return kit.run(
        kit.args("publish", SHOP, env=env, app="shop", image=image, repo=remote.path, context={"org": "acme"})
    )


@pytest.mark.parametrize(
    ("env", "link", "target"),
    [
        ("development", "development/shop", "../victim"),  # the app's own folder, relative, inside the repository
        ("development", "development/shop", "VICTIM"),  # the app's own folder, absolute, outside the repository
        ("development", "development", "VICTIM"),  # the environment folder
        ("development", "cd", "VICTIM"),  # the CD folder
        ("development", "cd/dev/development-shop.yaml", "VICTIM/keep.txt"),  # the CD file itself
        ("development", ".plato", "VICTIM"),  # the folder of recorded inputs
        ("production", "terraform", "VICTIM"),  # production writes terraform/production/shop/
        ("production", "terraform/production/shop", "../../victim"),
    ],
)
def test_a_symlink_in_the_deployment_repository_is_never_written_through(env, link, target, kit) -> None:
    victim = _victim(kit)
    target = target.replace("VICTIM", str(victim))
    remote = kit.bare()
    remote.commit({"victim/keep.txt": "in-repo victim\n"}, symlinks={link: target}, workdir=kit.tmp / "seed")
    before, outside = remote.snapshot(), kit.snapshot(victim)

    run = _publish_shop(kit, remote, env=env)

    kit.assert_refused(run, 2, says=["refusing to write through the symlink", "remove the symlink"])
    # A preview says the same (it would otherwise show a change that can never be published).
    preview = kit.run(kit.args("preview", SHOP, env=env, app="shop", repo=remote.path, context={"org": "acme"}))
    kit.assert_refused(preview, 2, says=["refusing to write through the symlink"])
    assert remote.snapshot() == before
    assert kit.snapshot(victim) == outside
    assert kit.leftovers() == []


def test_a_symlink_to_a_file_inside_the_owned_folder_is_replaced_not_followed(kit) -> None:
    victim = _victim(kit)
    remote = kit.bare()
    remote.commit(
        {"development/shop/.plato-owner": "development/shop\n"},
        symlinks={"development/shop/manifest.yaml": str(victim / "keep.txt")},
        workdir=kit.tmp / "seed",
    )
    outside = kit.snapshot(victim)

    run = _publish_shop(kit, remote)

    assert kit.snapshot(victim) == outside
    if run.returncode == 0:  # replaced: the owned folder is rewritten wholly, the link becomes a regular file
        mode = remote.git("ls-tree", "main", "development/shop/manifest.yaml").split()[0]
        assert mode == "100644", mode
        assert "kind: Deployment" in remote.show("development/shop/manifest.yaml")
    else:
        assert run.returncode in (2, 3), run.explain()


def test_a_gitattributes_symlink_is_not_written_through(kit) -> None:
    """Regression test: generator/deploy/publish.py wrote .gitattributes with Path.write_bytes, not through
    safe_join: a symlink .gitattributes -> /some/path committed in the deployment repository made a publish create
    /some/path (outside its checkout) and still exit 0."""
    target = kit.tmp / "outside" / "created-by-plato"
    target.parent.mkdir()
    remote = kit.bare()
    remote.commit(symlinks={".gitattributes": str(target)}, workdir=kit.tmp / "seed")

    run = _publish_shop(kit, remote)

    assert not target.exists(), f"plato wrote {target} through the symlink .gitattributes\n{run.explain()}"
    assert run.returncode in (0, 2, 3), run.explain()


# -- (e) what a publish changes ------------------------------------------------------------------------------------


def test_every_publish_changes_only_its_own_paths_its_record_and_gitattributes(kit) -> None:
    remote = kit.bare()
    remote.commit({**OTHERS, "development/shop/stale.yaml": "left by an older publish\n"}, workdir=kit.tmp / "seed")
    cart = kit.workload("cart/score.yaml", kit.score("cart"))
    steps = [
        ("development", "shop", SHOP, "ghcr.io/acme/shop:1.0", "dev"),
        ("production", "shop", SHOP, "ghcr.io/acme/shop:1.0", "prod-eu-west-1"),
        ("development", "shop", SHOP, "ghcr.io/acme/shop:1.1", "dev"),
        ("development", "cart", cart, "ghcr.io/acme/cart:2.0", "dev"),
        ("production", "shop", SHOP, "ghcr.io/acme/shop:1.1", "prod-eu-west-1"),
    ]
    for env, app, workloads, image, cluster in steps:
        before = remote.tip()

        run = kit.run(
            kit.args("publish", workloads, env=env, app=app, image=image, repo=remote.path, context={"org": "acme"})
        )

        assert run.returncode == 0, run.explain()
        after = remote.tip()
        assert after is not None and after != before, f"{env}/{app}: no commit\n{run.explain()}"
        changed = _changed(remote, before, after)
        outside = [p for p in changed if not _allowed(p, env, app, cluster)]
        assert not outside, f"publish of {app} in {env} changed {outside}\n{run.explain()}"
        assert f"{env}/{app}/manifest.yaml" in changed
    files = remote.files()
    for path, text in OTHERS.items():
        if not any(_allowed(path, env, app, cluster) for env, app, _, _, cluster in steps):  # not published over
            assert remote.show(path) == text, path
    assert "development/shop/stale.yaml" not in files  # the owned folder is replaced wholly
    assert kit.leftovers() == []


# -- (f) a success is a landing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [".git", ".plato", "..", "a/b", ".github", "Team", "-x", "x" * 64, "a\\b", ""])
def test_a_context_value_used_in_a_path_is_a_name_or_the_publish_is_refused(value, kit) -> None:
    """Regression test: `-c team=.git` with paths.manifests '{team}/{env}/{app}' sent the manifests into the
    clone's .git/; publish reported 'Deployment +1', exit 0, and the remote held only the record."""
    kit.workload()
    kit.rules(kit.env_rule(paths={"manifests": "{team}/{env}/{app}"}))
    remote = kit.bare()
    remote.commit(OTHERS, workdir=kit.tmp / "seed")
    before = remote.snapshot()

    run = kit.cli(
        kit.args("publish", Path("app/score.yaml"), rules=Path("rules"), repo=remote.path, context={"team": value})
    )

    kit.assert_refused(run, 2, names=["rules/50-test.yaml"], says=["paths.manifests", "{team}", "not a valid name"])
    assert remote.snapshot() == before


@pytest.mark.parametrize(
    ("gitlinks", "files", "names"),
    [
        (["development/shop"], {}, "development/shop is a submodule"),  # the app's own folder
        (["development"], {}, "development is a submodule"),  # the folder around it
        (["development/shop/vendored"], {"development/shop/.plato-owner": "development/shop\n"}, "vendored is a sub"),
        (["cd/dev/development-shop.yaml"], {}, "development-shop.yaml is a submodule"),  # the CD file
        (["terraform"], {}, "terraform is a submodule"),
        ([".plato/inputs/development/shop.json"], {}, "shop.json is a submodule"),  # the record
        ([], {"development/shop": "a file where the app's folder goes\n"}, "development/shop is a file"),
        ([], {"cd/dev/development-shop.yaml/x": "a folder, not a file\n"}, "development-shop.yaml is a folder"),
    ],
)
def test_a_submodule_or_a_file_of_the_wrong_kind_on_an_owned_path_is_refused_naming_it(
    gitlinks, files, names, kit
) -> None:
    """Regression test: a gitlink (submodule) at the app's folder was kept and the manifests never landed, exit 0.
    Anything on an owned path that is not a folder or a regular file is exit 2 naming the entry, before any
    commit; a preview says the same."""
    remote = kit.bare()
    remote.commit({"README.md": "seed\n", **files}, gitlinks=gitlinks, workdir=kit.tmp / "seed")
    before = remote.snapshot()

    run = _publish_shop(kit, remote)

    kit.assert_refused(run, 2, says=[names, "remove"])
    preview = kit.run(
        kit.args("preview", SHOP, env="development", app="shop", repo=remote.path, context={"org": "acme"})
    )
    kit.assert_refused(preview, 2, says=[names])
    assert remote.snapshot() == before
    assert kit.leftovers() == []


def test_a_symlink_inside_the_owned_folder_is_refused_naming_it(kit) -> None:
    remote = kit.bare()
    remote.commit(
        {"development/shop/.plato-owner": "development/shop\n"},
        symlinks={"development/shop/manifest.yaml": "/etc/passwd"},
        workdir=kit.tmp / "seed",
    )
    before = remote.snapshot()

    run = _publish_shop(kit, remote)

    kit.assert_refused(run, 2, says=["symlink development/shop/manifest.yaml"])
    assert remote.snapshot() == before


def test_what_a_publish_reports_is_what_the_remote_holds_byte_for_byte(kit) -> None:
    """Exit 0 is a landing: every owned path of the pushed tree holds the rendered bytes (compared by blob id with
    a render of the same inputs), and nothing else lies under the owned folders."""
    remote = kit.bare()
    remote.commit({**OTHERS, "development/shop/stale.yaml": "old\n"}, workdir=kit.tmp / "seed")
    out = kit.tmp / "rendered"
    render = kit.run(
        kit.args("render", SHOP, app="shop", image="ghcr.io/acme/shop:1.0", context={"org": "acme"}, out=out)
    )
    assert render.returncode == 0, render.explain()

    run = _publish_shop(kit, remote)

    assert run.returncode == 0, run.explain()
    owned = _owned("development", "shop", "dev")
    pushed = {p: e for p, e in remote.blobs().items() if any(p == o or p.startswith(o) for o in owned)}
    rendered = {p.relative_to(out).as_posix(): p for p in out.rglob("*") if p.is_file()}
    assert pushed == {rel: ("100644", kit.git("hash-object", str(path)).strip()) for rel, path in rendered.items()}
