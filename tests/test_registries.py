"""Registry logins: every provider x CI target renders the right login, OIDC-only for ecr/gar,
and the CI files pass the real validators (one check_tree, so npm-groovy-lint runs once)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from conformance.validators import assert_tree_conforms

from generator.cli import main
from generator.model import Registry
from generator.render.targets.registries import gcp_sts_audience, gcp_token_audience, registry_host, registry_login

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"

ROLE = "arn:aws:iam::123456789012:role/ci-push"
ECR_HOST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
GAR_HOST = "europe-west4-docker.pkg.dev"
WIF = "projects/123456789/locations/global/workloadIdentityPools/ci/providers/gitlab"
SA = "ci-push@acme-ml.iam.gserviceaccount.com"

REGISTRIES = {
    "gitlab": "    provider: gitlab\n    image: registry.gitlab.com/acme/ml/model\n",
    "oci": "    provider: oci\n    image: harbor.example.com/ml/model\n",
    "ecr": f"    provider: ecr\n    image: {ECR_HOST}/model\n"
           f"    aws:\n      region: eu-west-1\n      roleArn: {ROLE}\n",
    "gar": f"    provider: gar\n    image: {GAR_HOST}/acme-ml/models/model\n"
           f"    gcp:\n      workloadIdentityProvider: {WIF}\n      serviceAccount: {SA}\n",
}
TARGETS = {"gitlab": ("fraud-detector", ".gitlab-ci.yml"), "jenkins": ("churn-predictor", "Jenkinsfile")}
VARIANTS = [(target, provider) for target in TARGETS for provider in REGISTRIES]
EXAMPLE_PROVIDERS = {("gitlab", "gitlab"), ("jenkins", "oci")}  # what examples/ already render


def variant_spec(target: str, provider: str, where: Path) -> Path:
    example, _ = TARGETS[target]
    text = (EXAMPLES / example / "mlops.yaml").read_text(encoding="utf-8")
    text, n = re.subn(r"  registry:\n(?:    .*\n)+", "  registry:\n" + REGISTRIES[provider], text, count=1)
    assert n == 1, f"no build.registry block in {example}"
    where.mkdir(parents=True)
    spec = where / "mlops.yaml"
    spec.write_text(text, encoding="utf-8")
    return spec


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """Every variant rendered once: (target, provider) -> its output directory."""
    root = tmp_path_factory.mktemp("registries")
    out = {}
    for target, provider in VARIANTS:
        spec = variant_spec(target, provider, root / f"{target}-{provider}")
        assert main(["render", str(spec), "--out", str(spec.parent / "rendered")]) == 0
        out[(target, provider)] = spec.parent / "rendered"
    return out


def ci_text(rendered: dict[tuple[str, str], Path], target: str, provider: str) -> str:
    return (rendered[(target, provider)] / TARGETS[target][1]).read_text(encoding="utf-8")


def image_stages(text: str) -> str:
    """The Jenkinsfile's image stages (Build image, Scan image): where the registry login lives."""
    start = text.index("        stage('Build image')")
    scan = text.find("        stage('Scan image')", start)
    end = text.find("        stage('", (scan if scan >= 0 else start) + 1)
    return text[start:end if end >= 0 else len(text)]


def image_section(target: str, text: str) -> str:
    if target == "jenkins":
        return image_stages(text)
    return yaml.safe_dump(image_jobs(text), width=1 << 20)


def image_jobs(text: str) -> dict[str, dict]:
    jobs = yaml.safe_load(text)
    return {name: jobs[name] for name in ("build-image", "container-scan", "sbom") if name in jobs}


# ----------------------------------------------------------------------------- the pure functions

def test_registry_login_values() -> None:
    ecr = registry_login(Registry("ecr", f"{ECR_HOST}/model", "eu-west-1", ROLE))
    assert (ecr.host, ecr.token_variable, ecr.audience) == (ECR_HOST, "AWS_ID_TOKEN", "sts.amazonaws.com")
    assert ecr.oidc
    assert dict(ecr.env) == {"AWS_REGION": "eu-west-1", "AWS_ROLE_ARN": ROLE, "REGISTRY_HOST": ECR_HOST}

    gar = registry_login(Registry("gar", f"{GAR_HOST}/acme-ml/models/model", gcp_provider=WIF, gcp_service_account=SA))
    assert gar.host == GAR_HOST and gar.token_variable == "GCP_ID_TOKEN" and gar.oidc
    assert gar.audience == f"https://iam.googleapis.com/{WIF}" == gcp_token_audience(WIF)
    assert dict(gar.env)["GCP_STS_AUDIENCE"] == f"//iam.googleapis.com/{WIF}" == gcp_sts_audience(WIF)
    assert dict(gar.env)["GCP_SERVICE_ACCOUNT"] == SA

    for provider in ("gitlab", "oci"):
        login = registry_login(Registry(provider, "registry.example.com:5000/ml/model"))
        assert not login.oidc and login.env == () and login.host == "registry.example.com:5000"
    assert registry_host("localhost:5000/a/b") == "localhost:5000"
    with pytest.raises(ValueError, match="unknown registry provider"):
        registry_login(Registry("quay", "quay.io/a/b"))


# ----------------------------------------------------------------------------- GitLab

def test_gitlab_ecr_assumes_the_role_with_the_job_oidc_token(rendered) -> None:
    text = ci_text(rendered, "gitlab", "ecr")
    jobs = image_jobs(text)
    assert set(jobs) == {"build-image", "container-scan", "sbom"}
    for job in jobs.values():
        assert job["id_tokens"] == {"AWS_ID_TOKEN": {"aud": "sts.amazonaws.com"}}
        assert job["variables"]["AWS_ROLE_ARN"] == ROLE and job["variables"]["AWS_REGION"] == "eu-west-1"
    build = "\n".join(jobs["build-image"]["script"])
    assert jobs["build-image"]["variables"]["REGISTRY_HOST"] == ECR_HOST
    assert 'aws sts assume-role-with-web-identity --role-arn "$AWS_ROLE_ARN"' in build
    assert '--web-identity-token "$AWS_ID_TOKEN" --duration-seconds 900' in build
    assert "--query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text" in build
    assert ('aws ecr get-login-password --region "$AWS_REGION" | buildah login --username AWS '
            '--password-stdin "$REGISTRY_HOST"') in build
    assert "install awscli2" in build
    for scan in ("container-scan", "sbom"):
        script = "\n".join(jobs[scan]["script"])
        assert 'printf \'%s\' "$AWS_ID_TOKEN" > "$AWS_WEB_IDENTITY_TOKEN_FILE"' in script
        assert "export AWS_WEB_IDENTITY_TOKEN_FILE" in script


def test_gitlab_gar_federates_the_job_oidc_token(rendered) -> None:
    jobs = image_jobs(ci_text(rendered, "gitlab", "gar"))
    for job in jobs.values():
        assert job["id_tokens"] == {"GCP_ID_TOKEN": {"aud": f"https://iam.googleapis.com/{WIF}"}}
        assert job["variables"]["GCP_STS_AUDIENCE"] == f"//iam.googleapis.com/{WIF}"
        assert job["variables"]["GCP_SERVICE_ACCOUNT"] == SA
        script = "\n".join(job["script"])
        assert "https://sts.googleapis.com/v1/token" in script
        assert "serviceAccounts/$GCP_SERVICE_ACCOUNT:generateAccessToken" in script
        assert '"audience=$GCP_STS_AUDIENCE"' in script and "subject_token@-" in script
    assert jobs["build-image"]["variables"]["REGISTRY_HOST"] == GAR_HOST
    assert ('printf \'%s\' "$GCP_ACCESS_TOKEN" | buildah login --username oauth2accesstoken '
            '--password-stdin "$REGISTRY_HOST"') in "\n".join(jobs["build-image"]["script"])
    for scan in ("container-scan", "sbom"):
        assert 'export TRIVY_USERNAME=oauth2accesstoken TRIVY_PASSWORD="$GCP_ACCESS_TOKEN"' in jobs[scan]["script"]


@pytest.mark.parametrize(("provider", "user", "password"), [
    ("gitlab", "$CI_REGISTRY_USER", "$CI_REGISTRY_PASSWORD"),
    ("oci", "$REGISTRY_USER", "$REGISTRY_PASSWORD"),
])
def test_gitlab_password_registries(rendered, provider: str, user: str, password: str) -> None:
    jobs = image_jobs(ci_text(rendered, "gitlab", provider))
    assert f'printf \'%s\' "{password}" | buildah login --username "{user}"' in jobs["build-image"]["script"][0]
    for job in jobs.values():
        assert "id_tokens" not in job
    for scan in ("container-scan", "sbom"):
        assert jobs[scan]["variables"] == {"TRIVY_USERNAME": user, "TRIVY_PASSWORD": password}


# ----------------------------------------------------------------------------- Jenkins

def test_jenkins_ecr_binds_an_oidc_token_file(rendered) -> None:
    text = image_stages(ci_text(rendered, "jenkins", "ecr"))
    binding = "withCredentials([file(credentialsId: 'harbor-robot', variable: 'AWS_WEB_IDENTITY_TOKEN_FILE')])"
    assert text.count(binding) == 2
    assert text.count(f"AWS_ROLE_ARN = '{ROLE}'") == 2 and text.count("AWS_REGION = 'eu-west-1'") == 2
    assert f"REGISTRY_HOST = '{ECR_HOST}'" in text
    assert ('aws ecr get-login-password --region "$AWS_REGION" | buildah login --username AWS '
            '--password-stdin "$REGISTRY_HOST"') in text
    assert "usernamePassword(" not in text


def test_jenkins_gar_builds_a_credential_config_from_the_oidc_token(rendered) -> None:
    text = image_stages(ci_text(rendered, "jenkins", "gar"))
    assert text.count("withCredentials([file(credentialsId: 'harbor-robot', variable: 'GCP_ID_TOKEN_FILE')])") == 2
    assert f"GCP_WORKLOAD_IDENTITY_PROVIDER = '{WIF}'" in text and f"GCP_SERVICE_ACCOUNT = '{SA}'" in text
    assert f"REGISTRY_HOST = '{GAR_HOST}'" in text
    assert ('gcloud iam workload-identity-pools create-cred-config "$GCP_WORKLOAD_IDENTITY_PROVIDER" '
            '--service-account="$GCP_SERVICE_ACCOUNT" --credential-source-file="$GCP_ID_TOKEN_FILE"') in text
    assert ("gcloud auth print-access-token | buildah login --username oauth2accesstoken "
            '--password-stdin "$REGISTRY_HOST"') in text
    assert 'TRIVY_PASSWORD="$(gcloud auth print-access-token)"' in text
    assert "usernamePassword(" not in text


@pytest.mark.parametrize("provider", ["gitlab", "oci"])
def test_jenkins_password_registries(rendered, provider: str) -> None:
    text = image_stages(ci_text(rendered, "jenkins", provider))
    assert "usernamePassword(credentialsId: 'harbor-robot', usernameVariable: 'REGISTRY_USER'" in text
    assert "usernamePassword(credentialsId: 'harbor-robot', usernameVariable: 'TRIVY_USERNAME'" in text
    assert "file(credentialsId" not in text


def test_every_jenkins_shell_block_with_registry_secrets_disables_tracing(rendered) -> None:
    for provider in REGISTRIES:
        text = ci_text(rendered, "jenkins", provider)
        for block in re.findall(r"script: '''\n(.*?)'''", text, flags=re.S):
            if re.search(r"PASSWORD|TOKEN|print-access-token|get-login-password", block):
                assert block.lstrip().startswith("set +x"), f"{provider}: {block}"


# ----------------------------------------------------------------------------- OIDC only

SECRET_INPUTS = re.compile(
    r"\$\{?(AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID|GOOGLE_APPLICATION_CREDENTIALS|GOOGLE_CREDENTIALS"
    r"|GCP_SA_KEY|REGISTRY_PASSWORD|CI_REGISTRY_PASSWORD)\b")


@pytest.mark.parametrize(("target", "provider"), [(t, p) for t in TARGETS for p in ("ecr", "gar")])
def test_ecr_and_gar_read_no_long_lived_secret(rendered, target: str, provider: str) -> None:
    text = image_section(target, ci_text(rendered, target, provider))
    assert not SECRET_INPUTS.search(text), SECRET_INPUTS.search(text)
    assert "private_key" not in text and "service_account.json" not in text
    assert "AmazonWebServicesCredentialsBinding" not in text and "usernamePassword(" not in text
    if target == "gitlab":
        for job in image_jobs(ci_text(rendered, target, provider)).values():
            names = set(job["variables"])
            assert not names & {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                                "GOOGLE_APPLICATION_CREDENTIALS", "TRIVY_PASSWORD"}
            assert set(job["id_tokens"]) == {registry_login(Registry(provider, "x/y")).token_variable}
            assert "$" not in "".join(str(v) for v in job["variables"].values() if v not in ("vfs", "docker"))


# ----------------------------------------------------------------------------- the real validators

def test_rendered_ci_files_conform(rendered, tmp_path: Path) -> None:
    """The CI files of every variant (all the registry provider changes) pass the real validators.

    Gathered into one directory so check_tree runs once and npm-groovy-lint (~15 s a call) once;
    the GitOps manifests do not depend on the registry provider, and the examples' own provider
    combinations (GitLab + gitlab, Jenkins + oci) are checked by test_examples_conform.
    """
    checked = [v for v in VARIANTS if v not in EXAMPLE_PROVIDERS]
    for target, provider in checked:
        out, name = rendered[(target, provider)], TARGETS[target][1]
        (tmp_path / f"{target}-{provider}").mkdir()
        shutil.copy(out / name, tmp_path / f"{target}-{provider}" / name)
    results = assert_tree_conforms(tmp_path)
    assert sum(r.status == "PASS" for r in results) == len(checked)
