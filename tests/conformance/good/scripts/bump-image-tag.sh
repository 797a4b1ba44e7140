#!/usr/bin/env bash
# Point the staging overlay at a freshly built fraud-detector image.
set -euo pipefail

tag="${1:?usage: bump-image-tag.sh TAG}"
overlay="k8s/overlays/staging"

cd "${overlay}"
kustomize edit set image "fraud-detector=registry.example.com/ml/fraud-detector:${tag}"
git add kustomization.yaml
git commit -m "deploy fraud-detector ${tag} to staging"
