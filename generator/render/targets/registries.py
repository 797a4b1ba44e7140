"""How CI logs in to the image registry: what the image build/scan blueprints need, per provider.

Pure functions of the spec. The blueprints (gitlab/image-jobs.yml.j2, jenkins/image-stages.groovy.j2)
own the shell text; this module owns the values and names they use, so both CI targets agree:

- ``gitlab``: the project's container registry with the job token ($CI_REGISTRY_USER /
  $CI_REGISTRY_PASSWORD); on Jenkins a username/password credential.
- ``oci``: any OCI registry. There is no federation standard for arbitrary registries, so this is
  the one provider that reads a username/password: CI variables $REGISTRY_USER / $REGISTRY_PASSWORD
  on GitLab, a username/password credential on Jenkins.
- ``ecr``: AWS; the CI job's OIDC token (GitLab ``id_tokens``, Jenkins oidc-provider credential)
  is exchanged for 15-minute role credentials with sts:AssumeRoleWithWebIdentity.
- ``gar``: GCP Artifact Registry; the OIDC token goes through workload identity federation (STS)
  and impersonates the service account for a short-lived access token.

Every value here ends up in YAML, Groovy or shell through the blueprint's quoting filters; the
environment variable *names* are fixed identifiers defined here.
"""

from __future__ import annotations

from generator.frozen import frozen
from generator.model import Registry, Spec

AWS_STS_AUDIENCE = "sts.amazonaws.com"
GCP_IAM = "iam.googleapis.com"


@frozen
class RegistryLogin:
    """What a CI job needs to log in to `host` (buildah) and to pull from it (trivy)."""

    provider: str  # gitlab | ecr | gar | oci
    host: str  # registry host, from the image repository
    token_variable: str  # GitLab id_tokens variable holding the job's OIDC token; "" without OIDC
    audience: str  # `aud` of that OIDC token (GitLab id_tokens; the Jenkins id-token credential)
    env: tuple[tuple[str, str], ...]  # non-secret settings the login scripts read, in order

    @property
    def oidc(self) -> bool:
        """True when CI authenticates with a short-lived OIDC token, never a stored secret."""
        return bool(self.token_variable)

    @property
    def env_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.env)


def registry_host(image: str) -> str:
    """The registry host of an image repository (`host[:port]/path` -> `host[:port]`)."""
    return image.split("/", 1)[0]


def gcp_token_audience(provider: str) -> str:
    """The `aud` GCP expects in the CI's OIDC token by default: https: + the provider's full name.

    `provider` is the resource name `projects/N/locations/global/workloadIdentityPools/P/providers/X`.
    """
    return f"https://{GCP_IAM}/{provider}"


def gcp_sts_audience(provider: str) -> str:
    """The `audience` of the STS token exchange (and of a credential config): //iam... + name."""
    return f"//{GCP_IAM}/{provider}"


def registry_login(spec: Spec | Registry) -> RegistryLogin:
    registry = spec.build.registry if isinstance(spec, Spec) else spec
    host = registry_host(registry.image)
    if registry.provider == "ecr":
        return RegistryLogin("ecr", host, "AWS_ID_TOKEN", AWS_STS_AUDIENCE, (
            ("AWS_REGION", registry.aws_region),
            ("AWS_ROLE_ARN", registry.aws_role_arn),
            ("REGISTRY_HOST", host),
        ))
    if registry.provider == "gar":
        return RegistryLogin("gar", host, "GCP_ID_TOKEN", gcp_token_audience(registry.gcp_provider), (
            ("GCP_WORKLOAD_IDENTITY_PROVIDER", registry.gcp_provider),
            ("GCP_STS_AUDIENCE", gcp_sts_audience(registry.gcp_provider)),
            ("GCP_SERVICE_ACCOUNT", registry.gcp_service_account),
            ("REGISTRY_HOST", host),
        ))
    if registry.provider in ("gitlab", "oci"):
        return RegistryLogin(registry.provider, host, "", "", ())
    raise ValueError(f"unknown registry provider {registry.provider!r}")
