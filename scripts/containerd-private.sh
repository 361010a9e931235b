#!/usr/bin/env bash
# Starts or stops a private containerd for tests and CI: its own config, root, state and socket under DIR,
# so it never touches the system daemon. Keep DIR short (e.g. /tmp/tsc-XXXX): a unix socket path must fit in
# 108 bytes.
#
#   scripts/containerd-private.sh start DIR   # writes DIR/config.toml, starts containerd, waits for it
#   scripts/containerd-private.sh stop DIR    # stops the daemon started in DIR and waits for it to exit
#
# Files in DIR: config.toml, containerd.sock, containerd.log (debug level), containerd.pid, root/, state/.
# CONTAINERD_PRIVATE_EXTRA_CONFIG=FILE appends FILE to config.toml (e.g. a proxy snapshotter plugin).
set -euo pipefail

START_TIMEOUT_S=${CONTAINERD_START_TIMEOUT:-30}
STOP_TIMEOUT_S=${CONTAINERD_STOP_TIMEOUT:-20}

die() {
  echo "containerd-private: $*" >&2
  exit 1
}

usage() {
  die "usage: $0 start|stop DIR"
}

write_config() {
  local dir=$1
  # Plugins that need kernel features or host paths a test daemon has no use for are disabled so the log
  # stays readable; CRI is disabled because it wants a CNI setup and its own state.
  cat >"$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "$dir/containerd.sock"
  max_recv_message_size = 16777216
  max_send_message_size = 16777216

[ttrpc]
  address = "$dir/containerd.sock.ttrpc"

[debug]
  address = "$dir/debug.sock"
  level = "debug"

[metrics]
  address = ""
TOML
  if [ -n "${CONTAINERD_PRIVATE_EXTRA_CONFIG:-}" ]; then
    cat "$CONTAINERD_PRIVATE_EXTRA_CONFIG" >>"$dir/config.toml"
  fi
}

# kill -0 succeeds on a zombie, so a daemon that died while we are still its parent needs the state check.
alive() {
  [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"
}

answers() {
  ctr -a "$1/containerd.sock" version >/dev/null 2>&1
}

start() {
  local dir=$1
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local sock="$dir/containerd.sock"
  [ ${#sock} -lt 100 ] || die "socket path too long (${#sock} bytes, limit 108): $sock"
  if [ -f "$dir/containerd.pid" ] && alive "$(cat "$dir/containerd.pid")"; then
    die "a containerd is already running for $dir (pid $(cat "$dir/containerd.pid"))"
  fi
  command -v containerd >/dev/null || die "containerd not found (run scripts/ensure-tools.sh)"
  command -v ctr >/dev/null || die "ctr not found (run scripts/ensure-tools.sh)"
  write_config "$dir"
  # setsid: the daemon gets its own session, so a Ctrl-C in the test runner reaches it only through stop.
  setsid containerd --config "$dir/config.toml" </dev/null >>"$dir/containerd.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/containerd.pid"
  local waited=0
  until answers "$dir"; do
    if ! alive "$pid"; then
      echo "containerd-private: containerd exited during start-up; last log lines:" >&2
      tail -n 30 "$dir/containerd.log" >&2 || true
      exit 1
    fi
    if [ "$waited" -ge $((START_TIMEOUT_S * 10)) ]; then
      echo "containerd-private: containerd did not answer on $sock within ${START_TIMEOUT_S}s; last log lines:" >&2
      tail -n 30 "$dir/containerd.log" >&2 || true
      kill "$pid" 2>/dev/null || true
      exit 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  echo "$sock"
}

stop() {
  local dir=$1
  local pidfile="$dir/containerd.pid"
  [ -f "$pidfile" ] || return 0
  local pid
  pid=$(cat "$pidfile")
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    local waited=0
    while alive "$pid"; do
      if [ "$waited" -ge $((STOP_TIMEOUT_S * 10)) ]; then
        echo "containerd-private: pid $pid did not stop within ${STOP_TIMEOUT_S}s, sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
      fi
      sleep 0.1
      waited=$((waited + 1))
    done
  fi
  rm -f "$pidfile"
}

[ $# -eq 2 ] || usage
case "$1" in
  start) start "$2" ;;
  stop) stop "$2" ;;
  *) usage ;;
esac
