#!/usr/bin/env bash
# Build bench/porcupine_driver (Porcupine timed from the decoded ops, see main.go) against
# Porcupine's source in ../shared/tools/porcupine/src. Needs golang-go; no network is used.
#   OUT=/tmp/porcupine-driver-ops bench/porcupine_driver/build.sh
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
SRC="$HERE/../../../shared/tools/porcupine/src"
BUILD=$(mktemp -d)
mkdir -p "$BUILD/driver"
cp -r "$SRC" "$BUILD/src"
cp "$HERE/main.go" "$BUILD/driver/"
sed 's#=> .*#=> ../src#' "$HERE/go.mod" > "$BUILD/driver/go.mod"
cd "$BUILD/driver"
export GOFLAGS=-mod=mod GOPROXY=off GO111MODULE=on GOTOOLCHAIN=local GOCACHE="$BUILD/cache"
go build -trimpath -o "${OUT:-/tmp/porcupine-driver-ops}" .
rm -rf "$BUILD"
echo "built ${OUT:-/tmp/porcupine-driver-ops} (porcupine $(cat "$SRC/COMMIT"))"
