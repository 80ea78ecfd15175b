#!/usr/bin/env bash
# Installs the Debian packages hvsim needs, only those that are missing.
# Usage: scripts/install-deps.sh   (run as root, or with sudo available)
set -euo pipefail
# libcairo2-dev, fonts-dejavu-core: `hvsim export --format svg|png` draws with cairo
# (docs/export.md) and labels with DejaVu Sans; libxml2-utils: tests/export checks the SVG
# with xmllint.
# jq: tests/trace/corrupt.sh checks that every line `hvsim show --json` prints parses.
# man-db, groff-base: the install.man test renders the man page (docs/hvsim.1) with man -l;
# bash-completion: where the installed completion script goes (tests/install/install.sh).
pkgs=(libunicorn-dev libcapstone-dev libsqlite3-dev sqlite3 libcunit1-dev libyaml-dev
      clang lld llvm cmake pkg-config make jq libdw-dev gdb-multiarch gnuplot-nox parallel
      libcairo2-dev fonts-dejavu-core libxml2-utils man-db groff-base bash-completion)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
# one apt at a time on this machine: the lock is held while apt runs
$SUDO flock /tmp/apt.lock apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO flock /tmp/apt.lock \
  apt-get install -y -q --no-install-recommends "${missing[@]}"
