#!/usr/bin/env bash
# Podman as a local Docker engine for the container executor and its tests (no registry needed).
#
#   scripts/podman-local.sh setup    # idempotent: containers.conf, localhost/busybox:latest, the API service
#   scripts/podman-local.sh socket   # print the socket path (unix:///...)
#   scripts/podman-local.sh stop     # stop the service this script started (by its recorded pid)
#
# Needs `apt-get install -y podman runc busybox-static`. The settings are the ones that make podman
# work on this kind of host (see shared/reference/local-tooling.md): runc (crun refuses hybrid
# cgroups), cgroupfs, file events, and explicit nofile/nproc ulimits (setrlimit is refused otherwise).
# State lives in $OPENBATCH_PODMAN_DIR (default /tmp/openbatch-podman): containers.conf, the socket,
# the service's pid and log. Images and containers use podman's default storage.
set -euo pipefail

dir=${OPENBATCH_PODMAN_DIR:-/tmp/openbatch-podman}
conf=$dir/containers.conf
sock=$dir/podman.sock
pidfile=$dir/service.pid
image=localhost/busybox:latest

need() {
  for c in podman runc; do
    command -v "$c" >/dev/null || { echo "podman-local: $c is missing: apt-get install -y podman runc busybox-static" >&2; exit 2; }
  done
}

write_conf() {
  mkdir -p "$dir"
  local want
  want=$'[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
  if [ ! -f "$conf" ] || [ "$(cat "$conf")"$'\n' != "$want" ]; then
    printf '%s' "$want" > "$conf.tmp" && mv "$conf.tmp" "$conf"
  fi
}

build_image() {
  if CONTAINERS_CONF=$conf podman image exists "$image"; then return 0; fi
  local bb
  bb=$(command -v busybox || true)
  [ -n "$bb" ] || { echo "podman-local: busybox is missing: apt-get install -y busybox-static" >&2; exit 2; }
  if ldd "$bb" >/dev/null 2>&1; then
    echo "podman-local: $bb is dynamically linked; install busybox-static" >&2; exit 2
  fi
  local root
  root=$(mktemp -d "$dir/rootfs.XXXXXX")
  mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/proc" "$root/sys" "$root/dev"
  cp "$bb" "$root/bin/busybox"
  chroot "$root" /bin/busybox --install -s /bin 2>/dev/null || (cd "$root/bin" && for a in $("$bb" --list); do [ -e "$a" ] || ln -s busybox "$a"; done)
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
  tar -C "$root" -c . | CONTAINERS_CONF=$conf podman import -q --change 'ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin' - "$image" >/dev/null
  rm -rf "$root"
}

alive() {
  [ -S "$sock" ] && [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null &&
    curl -sf --max-time 5 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1
}

start_service() {
  if alive; then return 0; fi
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
  rm -f "$sock"
  # Started from its own dir: conmon leaves files (an "oom" marker) in its working directory.
  (cd "$dir" && CONTAINERS_CONF=$conf exec setsid podman system service --time=0 "unix://$sock" >"$dir/service.log" 2>&1 < /dev/null) &
  echo $! > "$pidfile"
  for _ in $(seq 1 300); do
    if [ -S "$sock" ] && curl -sf --max-time 5 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; then return 0; fi
    kill -0 "$(cat "$pidfile")" 2>/dev/null || { echo "podman-local: the service exited:" >&2; cat "$dir/service.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "podman-local: the service did not answer on $sock" >&2
  exit 1
}

case "${1:-setup}" in
  setup)
    need
    write_conf
    build_image
    start_service
    echo "unix://$sock"
    ;;
  socket) echo "unix://$sock" ;;
  stop)
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; fi
    ;;
  *) echo "usage: $0 setup|socket|stop" >&2; exit 2 ;;
esac
