"""The wheel carries blueprints/ and schemas/: installed into a fresh virtualenv outside the
checkout, it renders an example identical to the golden files."""

from __future__ import annotations

import filecmp
import re
import subprocess
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_installs_and_renders_outside_the_checkout(tmp_path: Path, mlopsgen_wheel: Path) -> None:
    wheel = mlopsgen_wheel
    import zipfile

    shipped = {name for name in zipfile.ZipFile(wheel).namelist() if name.endswith(".py")}
    sources = {p.relative_to(REPO).as_posix() for p in (REPO / "generator").rglob("*.py")}
    assert sources <= shipped, f"modules missing from the wheel: {sorted(sources - shipped)}"
    # committing through GitLab, Jenkins jobs and scaffolding are the mission: plain dependencies,
    # so `pip install mlopsgen` then `mlopsgen sync --gitlab-url ...` never stops at an import
    metadata = next(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".dist-info/METADATA"))
    requires = [line.split(":", 1)[1].strip() for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
                if line.startswith("Requires-Dist:")]
    unconditional = {re.split(r"[<>=!~ ;\[]", r, maxsplit=1)[0].lower() for r in requires if "extra ==" not in r}
    assert {"python-gitlab", "jenkinsapi", "cookiecutter", "requests", "jinja2", "pyyaml", "jsonschema"} \
        <= unconditional, requires
    env_dir = tmp_path / "venv"
    # the dependencies come from the environment running this test (what pyproject.toml declares,
    # installed by the README's test command), never from the base interpreter, and without a
    # network: a .pth line adds its site-packages after the venv's own (its .pth files, such as an
    # editable install's, are not processed); the package itself comes only from the wheel
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    running = dict.fromkeys((sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]))
    (Path(site) / "mlopsgen-test-dependencies.pth").write_text("\n".join(running) + "\n", encoding="utf-8")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, timeout=600)
    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "mlops.yaml").write_bytes((REPO / "examples/fraud-detector/mlops.yaml").read_bytes())
    result = subprocess.run([str(env_dir / "bin" / "mlopsgen"), "render", "mlops.yaml", "--out", "rendered"],
                            cwd=work, capture_output=True, text=True, timeout=120, check=False,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    located = subprocess.run([str(python), "-c", "import generator.resources as r; print(r.blueprints_dir())"],
                             cwd=work, capture_output=True, text=True, check=True,
                             env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert str(env_dir) in located.stdout, "blueprints must come from the installed wheel"
    comparison = filecmp.dircmp(work / "rendered", REPO / "examples/fraud-detector/rendered")
    assert not comparison.diff_files and not comparison.left_only and not comparison.right_only
