#!/usr/bin/env bash
# Makes sure the external tools the integration tests drive are installed: containerd and ctr (the daemon
# and its reference client), zstd and pigz (independent (de)compressors), skopeo (copies OCI layouts) and
# bsdtar (an independent tar reader). As root it installs what is missing with apt-get; otherwise it names
# the packages and fails. Quiet and idempotent when everything is present.
set -euo pipefail

# command:package pairs (Debian/Ubuntu package names).
TOOLS=(
  containerd:containerd
  ctr:containerd
  zstd:zstd
  pigz:pigz
  skopeo:skopeo
  bsdtar:libarchive-tools
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
