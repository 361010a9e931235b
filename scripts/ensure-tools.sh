#!/usr/bin/env bash
# Makes sure the external tools the integration tests drive are installed: containerd and ctr (the daemon
# and its reference client), zstd and pigz (independent (de)compressors), skopeo (copies OCI layouts and
# reads registries),
# bsdtar (an independent tar reader), tmux (a real terminal for the progress view and zsh's completion),
# zsh, fish and bash-completion (the shells `tsconvert completion` writes for), and the real clients of
# test/e2e/real-clients.test.ts: Debian's
# registry (docker-registry), podman 4.3 with the storage helpers apt only recommends (fuse-overlayfs,
# uidmap; --no-install-recommends skips them), and stargz-snapshotter (ctr-remote; its snapshotter is
# built from Debian's Go sources by test/interop/build.sh) with FUSE 3. As root it installs what is
# missing with apt-get; otherwise it names the packages and fails. Quiet and idempotent when everything
# is present. openssl and perl make the test registries' certificates and bcrypt htpasswd lines.
set -euo pipefail

# command:package pairs (Debian/Ubuntu package names).
TOOLS=(
  containerd:containerd
  ctr:containerd
  zstd:zstd
  pigz:pigz
  skopeo:skopeo
  bsdtar:libarchive-tools
  tmux:tmux
  zsh:zsh
  fish:fish
  docker-registry:docker-registry
  podman:podman
  fuse-overlayfs:fuse-overlayfs
  newuidmap:uidmap
  ctr-remote:stargz-snapshotter
  fusermount3:fuse3
  openssl:openssl
  perl:perl-base
)

missing=()
for pair in "${TOOLS[@]}"; do
  cmd=${pair%%:*}
  pkg=${pair#*:}
  if ! command -v "$cmd" >/dev/null 2>&1; then
    case " ${missing[*]:-} " in
      *" $pkg "*) ;;
      *) missing+=("$pkg") ;;
    esac
  fi
done

# Go toolchain and Go sources (Debian) for the oracles nobody here wrote: test/interop/build.sh (our checker
# on tar-split and stargz-snapshotter) and ../shared/interop/build.sh (zstdchunked-verify, reference-convert).
GO_PKGS=(golang-go golang-github-vbatts-tar-split-dev golang-github-klauspost-compress-dev
  golang-github-containerd-stargz-snapshotter-dev golang-github-opencontainers-go-digest-dev
  golang-github-containerd-containerd-dev golang-github-containers-storage-dev golang-github-ulikunitz-xz-dev)
for pkg in "${GO_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
command -v python3 >/dev/null 2>&1 || missing+=(python3)
# bash's completion helpers (_get_comp_words_by_ref), which the generated bash script uses.
[ -f /usr/share/bash-completion/bash_completion ] || missing+=(bash-completion)

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-tools: missing packages: ${missing[*]}" >&2
  echo "ensure-tools: install them as root: apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-tools: missing packages: ${missing[*]} (and no apt-get here to install them)" >&2
  exit 1
fi

echo "ensure-tools: installing ${missing[*]}" >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
