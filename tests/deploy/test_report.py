"""The words of a report (generator/deploy/report.py, diff.py): counts, plurals, commit subjects."""

from __future__ import annotations

import re

import pytest

from generator.deploy.diff import compare
from generator.deploy.report import SUBJECT_LIMIT, plural, pr_title, subject, summary_line, text

BACKEND = b'terraform {\n  backend "s3" {\n    bucket = "state"\n  }\n}\n'
MODULE = b'module "db" {\n  source = "x"\n}\n'


def test_a_new_apps_terraform_settings_are_added_not_changed() -> None:
    """A new app's backend/providers file has no module or resource block: it was still added, not changed."""
    cs = compare("prod", "shop", {}, {"terraform/prod/shop/backend.tf": BACKEND}, set())
    assert cs.counts() == {"Terraform settings": {"added": 1, "changed": 0, "removed": 0}}
    gone = compare("prod", "shop", {"terraform/prod/shop/backend.tf": BACKEND}, {}, set())
    assert gone.counts() == {"Terraform settings": {"added": 0, "changed": 0, "removed": 1}}
    edited = compare("prod", "shop", {"t/b.tf": BACKEND}, {"t/b.tf": BACKEND.replace(b"state", b"other")}, set())
    assert edited.counts() == {"Terraform settings": {"added": 0, "changed": 1, "removed": 0}}


def test_counts_read_as_words() -> None:
    one = compare("dev", "shop", {}, {"t/m.tf": MODULE}, set())
    assert "1 file would change" in text(one)
    two = compare("dev", "shop", {}, {"t/m.tf": MODULE, "t/b.tf": BACKEND}, set())
    assert "2 files would change" in text(two)
    assert pr_title([one, compare("prod", "api", {}, {"t/m.tf": MODULE}, set())]) == "plato: 2 apps in dev, prod"
    assert (plural(1, "app"), plural(0, "app"), plural(3, "file")) == ("1 app", "0 apps", "3 files")


def test_a_long_subject_is_cut_between_items_and_says_how_many_are_left() -> None:
    items = [f"Kind{i} +{i}" for i in range(60)]
    title = "plato: shop in production: " + ", ".join(items)
    cut = subject(title)
    assert len(cut) <= SUBJECT_LIMIT
    kept, more = re.fullmatch(r"plato: shop in production: (.*), and (\d+) more", cut).groups()  # type: ignore[union-attr]
    shown = kept.split(", ")
    assert shown == items[: len(shown)], "whole items, in order"
    assert len(shown) + int(more) == len(items)


@pytest.mark.parametrize("n", [1, 5, 12, 13, 14, 40])
def test_every_cut_keeps_whole_items(n: int) -> None:
    title = "plato: app-with-a-long-name in production: " + ", ".join(f"ExternalSecret +{i}" for i in range(n))
    cut = subject(title, limit=120)
    assert len(cut) <= 120
    body = cut.split(": ", 2)[2].split(", and ")[0]
    assert all(re.fullmatch(r"ExternalSecret \+\d+", item) for item in body.split(", "))
    if len(title) <= 120:
        assert cut == title


def test_a_real_summary_line_fits() -> None:
    files = {f"dev/shop/f{i}.tf": f'module "m{i}" {{\n  source = "x"\n}}\n'.encode() for i in range(3)}
    cs = compare("dev", "shop", {}, files, set())
    assert subject(f"plato: {summary_line(cs)}") == "plato: shop in dev: Terraform module +3"
