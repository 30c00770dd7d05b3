#!/usr/bin/env bash
# Install what coldmail needs to build and test, from Debian 12 packages.
# Run as root (or with sudo available).  Safe to run again.
set -euo pipefail

BUILD_PKGS="build-essential cmake pkg-config libarchive-dev libssl-dev
 libzstd-dev libpopt-dev libjansson-dev libsqlite3-dev libisal-dev zlib1g-dev"
# The real tools the interop tests read our files with, and the servers and
# checkers the tests start.
TEST_PKGS="age minisign zstd tar libarchive-tools dovecot-imapd mandoc python3
 clang libclang-rt-14-dev valgrind e2fsprogs util-linux procps xxd"

as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "install-deps: need root to install packages" >&2
        exit 1
    fi
}

export DEBIAN_FRONTEND=noninteractive
as_root apt-get update -q
# shellcheck disable=SC2086
as_root apt-get install -y -q --no-install-recommends $BUILD_PKGS $TEST_PKGS
