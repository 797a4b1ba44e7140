#!/bin/sh
# Drop cached model weights before downloading the new version.
set -eu
echo "cleaning ${MODEL_CACHE_DIR}"
rm -rf $MODEL_CACHE_DIR/*
