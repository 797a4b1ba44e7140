"""mlopsgen: render CI/CD/CT pipelines and GitOps manifests from one model spec."""

__version__ = "0.1.0"
