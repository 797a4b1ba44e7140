"""Render the pipelines, Dockerfile and GitOps manifests of the new repository with mlopsgen itself
(the blueprints live in mlopsgen only), and save the spec's JSON Schema next to it for editors.
A non-zero exit makes cookiecutter delete the half-made repository."""

import os
import subprocess
import sys

PYTHONPATH = "{{ cookiecutter._mlopsgen_pythonpath }}"


def mlopsgen(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if PYTHONPATH:
        env["PYTHONPATH"] = PYTHONPATH + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.run([sys.executable, "-m", "generator", *args], capture_output=True, text=True, env=env,
                          check=False)


def main() -> int:
    schema = mlopsgen("schema")
    if schema.returncode != 0:
        sys.stderr.write(schema.stdout + schema.stderr)
        sys.stderr.write("mlopsgen init: `mlopsgen schema` failed; is mlopsgen installed for " + sys.executable + "?\n")
        return 1
    with open("mlops.schema.json", "w", encoding="utf-8") as out:
        out.write(schema.stdout)
    render = mlopsgen("render", "mlops.yaml")
    if render.returncode != 0:
        sys.stderr.write(render.stdout + render.stderr)
        sys.stderr.write("mlopsgen init: rendering the new repository's pipelines failed (see above)\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
