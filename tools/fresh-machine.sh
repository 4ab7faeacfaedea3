#!/usr/bin/env bash
# fresh-machine.sh [--demo-only] [--without-examples] [DIR]
#
# Follows the README on a fresh Debian bookworm machine, as a new user would, and reports how long each step took:
# a debootstrap root filesystem in DIR (default /var/tmp/basalt-fresh, emptied first) with only git, nodejs, npm and
# sudo added (with what apt installs beside them); a clone of this repository's HEAD in it (with LAVA's example files beside it, as
# in CI, unless --without-examples); then, inside it, `npm install -g deno@2`, `deno task demo --until-done` (which
# must end with its jobs Complete) and `deno task test` (unless --demo-only). Needs root (debootstrap, chroot).
#
# The Debian mirror and any apt proxy are read from this machine's apt configuration, and npm's registry from its
# npm configuration; nothing names a host here. Everything started inside is killed and DIR unmounted at the end;
# DIR stays, for a look at what was installed (its times are in DIR/times.txt).
set -euo pipefail
DEMO_ONLY=0 EXAMPLES=1
while [ $# -gt 0 ]; do
  case "$1" in
    --demo-only) DEMO_ONLY=1; shift ;;
    --without-examples) EXAMPLES=0; shift ;;
    -*) echo "usage: $0 [--demo-only] [--without-examples] [DIR]" >&2; exit 2 ;;
    *) break ;;
  esac
done
DIR=$(realpath -m "${1:-/var/tmp/basalt-fresh}")
REPO=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "fresh-machine: run as root (debootstrap and chroot need it)" >&2; exit 1; }
case "$DIR" in /|/usr|/var|/home|/root|"$REPO"*) echo "fresh-machine: refusing $DIR" >&2; exit 1 ;; esac

say() { printf 'fresh-machine: %s\n' "$*" | tee -a "$DIR/times.txt" >&2; }
timed() { # timed LABEL COMMAND...: runs it, records its wall time, fails with its exit code
  local label=$1 start=$SECONDS rc=0; shift
  "$@" || rc=$?
  say "$label: $((SECONDS - start)) s (exit $rc)"
  return $rc
}

# The first Debian archive this machine's apt sources name (deb822 or one-line), and the suite it runs.
mirror() {
  {
    grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
    grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) {print $i; break}}'
  } | grep -v -- '-security' | head -n 1 || true # a sources file format absent here is not an error
}
MIRROR=$(mirror)
[ -n "$MIRROR" ] || { echo "fresh-machine: no Debian archive in this machine's apt sources" >&2; exit 1; }
SUITE=bookworm
PROXY=$(apt-config dump 2>/dev/null | awk -F'"' '/^Acquire::http::Proxy /{print $2; exit}' || true)
[ -n "$PROXY" ] && export http_proxy=$PROXY

unmount_all() {
  # Whatever is still running with its root inside DIR (a server a package started, a test's leftover) is killed
  # first, or the mounts stay busy.
  for link in /proc/[0-9]*/root; do
    [ "$(readlink "$link" 2>/dev/null)" = "$DIR" ] && kill -KILL "$(basename "$(dirname "$link")")" 2>/dev/null || true
  done
  sleep 0.5
  for m in $(awk -v d="$DIR" '$2 == d || index($2, d "/") == 1 {print $2}' /proc/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
}
unmount_all
rm -rf --one-file-system "$DIR"
mkdir -p "$DIR"
trap unmount_all EXIT

if ! command -v debootstrap >/dev/null; then
  say "installing debootstrap on this machine"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi
say "Debian $SUITE from $MIRROR into $DIR"
# debootstrap's own resolver cannot install npm's dependency tree: the base system first, then apt inside.
timed "debootstrap" debootstrap "$SUITE" "$DIR" "$MIRROR" > "$DIR/debootstrap.log" 2>&1 ||
  { tail -20 "$DIR/debootstrap.log"; exit 1; }

# What any machine has: name resolution, the kernel's file systems, no services started by package scripts (a
# chroot has no init to stop them), the machine's npm registry and apt proxy.
cp -L /etc/resolv.conf "$DIR/etc/resolv.conf"
[ -s "$DIR/etc/hosts" ] || printf '127.0.0.1 localhost\n::1 localhost\n' > "$DIR/etc/hosts"
printf '#!/bin/sh\nexit 101\n' > "$DIR/usr/sbin/policy-rc.d"
chmod 755 "$DIR/usr/sbin/policy-rc.d"
[ -n "$PROXY" ] && printf 'Acquire::http::Proxy "%s";\n' "$PROXY" > "$DIR/etc/apt/apt.conf.d/90proxy"
REGISTRY=$(npm config get registry 2>/dev/null || true)
[ -n "$REGISTRY" ] && printf 'registry=%s\n' "$REGISTRY" > "$DIR/root/.npmrc"
CAFILE=$(npm config get cafile 2>/dev/null || true)
case "$CAFILE" in /*) printf 'cafile=%s\n' "$CAFILE" >> "$DIR/root/.npmrc" ;; esac
mount -t proc proc "$DIR/proc"
mount -t sysfs sysfs "$DIR/sys"
mount --rbind /dev "$DIR/dev"
mount -t tmpfs tmpfs "$DIR/run"
mount -t tmpfs -o size=2g tmpfs "$DIR/dev/shm" 2>/dev/null || true

timed "apt-get install git nodejs npm sudo" chroot "$DIR" env DEBIAN_FRONTEND=noninteractive \
  bash -c 'apt-get update -qq && apt-get install -y -qq git nodejs npm sudo ca-certificates' > "$DIR/apt.log" 2>&1 ||
  { tail -20 "$DIR/apt.log"; exit 1; }

# The machine's own trust anchors (where a TLS-inspecting proxy's CA is kept) and the variables that point programs,
# Deno among them, at the bundle: part of any machine of this site.
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$DIR/usr/local/share/ca-certificates/"
  chroot "$DIR" update-ca-certificates >/dev/null 2>&1
fi
TRUST=()
for v in NODE_EXTRA_CA_CERTS SSL_CERT_FILE SSL_CERT_DIR GIT_SSL_CAINFO CURL_CA_BUNDLE; do
  [ -n "${!v:-}" ] && TRUST+=("$v=${!v}")
done

git clone --quiet "$REPO" "$DIR/root/work/basalt"
if [ "$EXAMPLES" = 1 ] && [ -d "$REPO/../shared/lava-examples" ]; then
  mkdir -p "$DIR/root/work/shared"
  cp -a "$REPO/../shared/lava-examples" "$DIR/root/work/shared/"
fi
say "clone of $(git -C "$REPO" rev-parse --short HEAD) in /root/work/basalt"

inside() { chroot "$DIR" env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  TERM=dumb LANG=C.UTF-8 ${http_proxy:+http_proxy=$http_proxy} "${TRUST[@]}" bash -lc "set -o pipefail; cd /root/work/basalt && $1"; }

timed "npm install -g deno@2" inside 'npm install -g deno@2 >/root/npm.log 2>&1 && deno --version | head -1'
timed "deno task demo (set-up, then the lab until its jobs finish)" \
  inside 'deno task demo --until-done --port 0 --data-dir /root/demo-data 2>&1 | tee /root/demo.log | grep -E "^(demo|setup):"'
if [ "$DEMO_ONLY" = 0 ]; then
  timed "deno task test" inside 'deno task test >/root/test.log 2>&1' || true
  sed 's/\x1b\[[0-9;]*m//g' "$DIR/root/test.log" | grep -E '^(ok|FAILED) \|' | tail -1 >> "$DIR/times.txt"
fi
echo "--- times (logs in $DIR/root: npm.log, demo.log, test.log)"
cat "$DIR/times.txt"
grep -q 'deno task test: .*(exit [1-9]' "$DIR/times.txt" && exit 1
exit 0
