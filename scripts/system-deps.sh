#!/usr/bin/env bash
# System packages the tests use, from Debian: chromium (the report's browser test) and
# dataset-fashion-mnist (Fashion-MNIST without a download). Installs them when missing and this
# shell may (root with apt-get); otherwise says what to install and fails.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || missing+=(dataset-fashion-mnist)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    exit 0
fi
echo "the tests need these Debian packages: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
exit 1
