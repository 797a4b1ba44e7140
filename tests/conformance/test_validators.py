"""The validators can fail: every bad/ sample is rejected by the expected tool with the expected
text, good/ passes whole, and missing tools are reported as the CI/non-CI policy says."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from . import validators as v

HERE = Path(__file__).resolve().parent


def load_expected() -> list[tuple[str, str, str]]:
    rows = []
    for line in (HERE / "bad" / "EXPECTED.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            file, tool, text = line.split("\t")[:3]
            rows.append((file, tool, text))
    return rows


EXPECTED = load_expected()


@pytest.fixture(scope="session")
def sample_results() -> dict[str, v.Result]:
    """good/ and bad/ checked in one run (one JVM start for npm-groovy-lint), keyed by path."""
    return {r.path: r for r in v.check_tree(HERE)}


def _result(results: dict[str, v.Result], path: str) -> v.Result:
    assert path in results, f"{path} was not checked"
    r = results[path]
    if r.status == "SKIP" and r.missing_tool:
        pytest.skip(r.message)
    return r


def test_required_tools_installed() -> None:
    required = [t for t, req in v.missing_tools().items() if req]
    assert not required, f"required validators missing: {required} (pip install -e .[test])"


def test_optional_tools_installed_on_ci() -> None:
    optional = [t for t, req in v.missing_tools().items() if not req]
    if optional and not v.in_ci():
        pytest.skip("skipped: " + ", ".join(f"{t} not installed" for t in optional))
    assert not optional, f"CI is set but {optional} are missing (run .ci/install-tools)"


@pytest.mark.parametrize(("file", "tool", "text"), EXPECTED, ids=[row[0] for row in EXPECTED])
def test_bad_sample_fails(sample_results: dict[str, v.Result], file: str, tool: str, text: str) -> None:
    r = _result(sample_results, f"bad/{file}")
    assert r.status == "FAIL", f"bad/{file} was not rejected: {r}"
    assert r.tool == tool, f"bad/{file} rejected by {r.tool}, expected {tool}: {r}"
    assert text in r.message, f"bad/{file}: {text!r} not in {r.message!r}"


def test_bad_has_no_unexpected_failures(sample_results: dict[str, v.Result]) -> None:
    listed = {f"bad/{row[0]}" for row in EXPECTED}
    surprises = [r for p, r in sample_results.items()
                 if p.startswith("bad/") and p not in listed and r.status == "FAIL"]
    assert not surprises, v.report(surprises)


def test_good_passes_whole(sample_results: dict[str, v.Result]) -> None:
    good = [r for p, r in sample_results.items() if p.startswith("good/")]
    assert len(good) >= 15
    v.assert_results_conform(good)
    assert all(r.status == "PASS" for r in good), v.report(good)


def _gitlab_tree(tmp_path: Path) -> Path:
    (tmp_path / ".gitlab-ci.yml").write_text((HERE / "good" / ".gitlab-ci.yml").read_text())
    return tmp_path


def _without(monkeypatch: pytest.MonkeyPatch, tool: str) -> None:
    real = v.find_tool
    monkeypatch.setattr(v, "find_tool", lambda name: None if name == tool else real(name))


def test_missing_optional_tool_skips_outside_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    _without(monkeypatch, "gitlab-ci-local")
    [r] = v.check_tree(_gitlab_tree(tmp_path))
    assert (r.status, r.message, r.missing_tool) == (
        "SKIP", "skipped: gitlab-ci-local not installed", "gitlab-ci-local")
    with pytest.raises(pytest.skip.Exception, match="gitlab-ci-local not installed"):
        v.assert_results_conform([r])


def test_missing_optional_tool_fails_on_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    _without(monkeypatch, "gitlab-ci-local")
    [r] = v.check_tree(_gitlab_tree(tmp_path))
    assert r.status == "FAIL" and "gitlab-ci-local not installed" in r.message
    with pytest.raises(pytest.fail.Exception, match="gitlab-ci-local not installed"):
        v.assert_results_conform([r])


def test_missing_required_tool_fails_outside_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    _without(monkeypatch, "hadolint")
    (tmp_path / "Dockerfile").write_text((HERE / "good" / "Dockerfile").read_text())
    [r] = v.check_tree(tmp_path)
    assert (r.status, r.tool) == ("FAIL", "hadolint") and "not installed" in r.message


def test_fixture_reports_every_failure(assert_tree_conforms: Callable[..., list[v.Result]],
                                       tmp_path: Path) -> None:
    for name in ("Dockerfile.apt-without-y", "Dockerfile.untagged-base"):
        (tmp_path / name).write_text((HERE / "bad" / name).read_text())
    with pytest.raises(pytest.fail.Exception) as exc:
        assert_tree_conforms(tmp_path)
    assert "DL3014" in str(exc.value) and "DL3006" in str(exc.value)


def test_vendor_schemas_match_sources_md() -> None:
    """Every vendored schema is listed in schemas/vendor/SOURCES.md with its current sha256."""
    import hashlib
    import re

    vendor = v.VENDOR_SCHEMAS
    listed = dict((p, h) for h, p in re.findall(r"^([0-9a-f]{64})  (\S+)$",
                                                (vendor / "SOURCES.md").read_text(), re.M))
    actual = {p.relative_to(vendor).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
              for p in vendor.rglob("*.json")}
    assert listed == actual


def test_vendored_gitlab_schema_is_the_builtin_one() -> None:
    """--builtin-schema vendor.gitlab-ci judges with exactly schemas/vendor/gitlab-ci.json."""
    from importlib import resources

    builtin = resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "gitlab-ci.json"
    assert builtin.read_bytes() == (v.VENDOR_SCHEMAS / "gitlab-ci.json").read_bytes(), (
        "check-jsonschema was upgraded: re-copy its gitlab-ci.json and update SOURCES.md")
