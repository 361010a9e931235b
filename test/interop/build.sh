#!/bin/sh
# Builds tsconvert's Go oracle offline from Debian 12's Go source packages (no module download):
#   zstdchunked-check   - checks one zstd:chunked blob against docs/format.md with vbatts/tar-split's
#                         archive/tar fork and asm, klauspost's zstd and stargz-snapshotter's reader
#   zstdchunked-testgen - test aid: writes a docs/format.md blob and deliberately broken variants from a tar
#   stargz-grpc         - test aid: stargz-snapshotter's library snapshotter served as a containerd proxy
#                         snapshotter (Debian ships the library but not its daemon, containerd-stargz-grpc)
# Usage: sh test/interop/build.sh [--deps]   (--deps: apt-get install golang-go and the Go source packages)
# Output: $TSCONVERT_INTEROP_BIN (default $HOME/.cache/tsconvert-interop/bin). Fails loudly.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${TSCONVERT_INTEROP_BIN:-$HOME/.cache/tsconvert-interop/bin}
B=$(dirname "$OUT")/build-check
mkdir -p "$B" "$OUT"
PKGS="golang-go golang-github-vbatts-tar-split-dev golang-github-klauspost-compress-dev
  golang-github-containerd-stargz-snapshotter-dev golang-github-opencontainers-go-digest-dev
  golang-github-containerd-containerd-dev"
if [ "${1:-}" = "--deps" ]; then
  apt-get update
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $PKGS
fi
SRC=/usr/share/gocode/src
for d in github.com/vbatts/tar-split/archive/tar github.com/vbatts/tar-split/tar/asm \
  github.com/klauspost/compress/zstd github.com/containerd/stargz-snapshotter/estargz \
  github.com/opencontainers/go-digest github.com/containerd/containerd/contrib/snapshotservice; do
  if [ ! -d "$SRC/$d" ]; then
    echo "build.sh: $SRC/$d is missing; run: sh test/interop/build.sh --deps (apt packages: $(echo $PKGS))" >&2
    exit 1
  fi
done
command -v go >/dev/null || { echo "build.sh: no go; run with --deps (apt package golang-go)" >&2; exit 1; }
export GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOPROXY=off CGO_ENABLED=0 GOCACHE="$B/gocache"
for p in zstdchunked-check:zstdchunked-check testdata-gen:zstdchunked-testgen stargz-grpc:stargz-grpc; do
  dir=${p%%:*}
  bin=${p#*:}
  (cd "$HERE/$dir" && go vet . && go build -trimpath -o "$OUT/$bin.tmp" .)
  mv "$OUT/$bin.tmp" "$OUT/$bin"
  echo "built $OUT/$bin"
done
