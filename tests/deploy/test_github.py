"""GitHub Actions hand-off: step outputs in $GITHUB_OUTPUT (the `name=value` and `name<<DELIM` forms) and the
Markdown job summary in $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

from pathlib import Path

from generator.deploy.github import STEP_SUMMARY_LIMIT, write_outputs, write_summary


def parse_outputs(text: str) -> list[dict[str, str]]:
    """$GITHUB_OUTPUT read the way the Actions runner reads it; one dict per block of consecutive writes is not
    knowable, so this returns every (name, value) in order as single-entry dicts."""
    lines = text.split("\n")
    out: list[dict[str, str]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if eq >= 0 and (heredoc < 0 or eq < heredoc):
            out.append({line[:eq]: line[eq + 1 :]})
            continue
        assert heredoc > 0, f"not an output line: {line!r}"
        name, delim = line[:heredoc], line[heredoc + 2 :]
        assert delim, f"empty delimiter in {line!r}"
        value: list[str] = []
        while True:
            assert i < len(lines), f"unterminated {name}<<{delim}"
            if lines[i] == delim:
                i += 1
                break
            value.append(lines[i])
            i += 1
        out.append({name: "\n".join(value)})
    return out


def latest(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in parse_outputs(text):
        values.update(pair)
    return values


def test_publish_writes_outputs_and_the_summary(tmp_path, remote, run_plato, shop_args) -> None:
    outputs, summary = tmp_path / "gh" / "output", tmp_path / "gh" / "summary.md"
    outputs.parent.mkdir()
    outputs.touch()
    summary.touch()
    env = {"GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary)}
    body = tmp_path / "body.md"

    r = run_plato(shop_args("publish", remote.path, extra=["--pr-body", str(body)]), env=env)

    assert r.returncode == 0, r.explain()
    values = latest(outputs.read_text(encoding="utf-8"))
    assert values["changed"] == "true"
    assert values["commit"] == remote.tip()
    assert values["branch"] == "main"
    assert values["pr-body-path"] == str(body.resolve())
    assert values["pr-title"].startswith("plato: shop in development: ")
    assert set(values) >= {"changed", "commit", "branch", "pr-title", "pr-body-path"}
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("<!-- plato:pr env=development app=shop -->")
    assert "| development | shop |" in text and "<details>" in text
    assert text.rstrip("\n") == body.read_text(encoding="utf-8").rstrip("\n")

    # Nothing to do: the outputs say so (appended, the last value wins), the summary gets a second block.
    outputs.write_text("", encoding="utf-8")
    again = run_plato(shop_args("publish", remote.path), env=env)

    assert again.returncode == 0, again.explain()
    values = latest(outputs.read_text(encoding="utf-8"))
    assert (values["changed"], values["commit"], values["branch"], values["pr-body-path"]) == ("false", "", "main", "")
    assert "No changes" in summary.read_text(encoding="utf-8").split("<!-- plato:pr", 2)[2]


def test_pr_mode_outputs_name_the_branch_and_multi_line_values_use_a_delimiter(
    tmp_path, remote, run_plato, shop_args
) -> None:
    outputs = tmp_path / "output"
    outputs.touch()
    body = tmp_path / "two\nlines" / "body.md"  # a path with a newline: the only multi-line output plato writes

    r = run_plato(
        shop_args("publish", remote.path, extra=["--mode", "pr", "--pr-body", str(body)]),
        env={"GITHUB_OUTPUT": str(outputs)},
    )

    assert r.returncode == 0, r.explain()
    raw = outputs.read_text(encoding="utf-8")
    assert "pr-body-path<<" in raw
    values = latest(raw)
    assert values["branch"] == "plato/development/shop"
    assert values["commit"] == remote.tip("plato/development/shop")
    assert values["changed"] == "true"
    assert values["pr-body-path"] == str(body.resolve())
    assert Path(values["pr-body-path"]).read_text(encoding="utf-8").startswith("<!-- plato:pr")


def test_write_outputs_round_trips_single_and_multi_line_values(tmp_path) -> None:
    path = tmp_path / "output"
    values = {"one": "x=y", "empty": "", "multi": "first\nsecond\n<<EOF\nplato_0000\n", "last": "z"}

    write_outputs(str(path), values)
    write_outputs(None, {"ignored": "yes"})  # outside Actions: nothing

    assert latest(path.read_text(encoding="utf-8")) == values


def test_write_summary_appends_and_stays_under_the_limit(tmp_path) -> None:
    path = tmp_path / "summary.md"
    write_summary(str(path), "## first")
    write_summary(None, "ignored")
    write_summary(str(path), "é" * STEP_SUMMARY_LIMIT)  # two bytes a character

    data = path.read_bytes()
    assert data.startswith(b"## first\n")
    assert len(data) < STEP_SUMMARY_LIMIT
    assert data.decode("utf-8").rstrip().endswith("(summary cut at 1 MiB)")
