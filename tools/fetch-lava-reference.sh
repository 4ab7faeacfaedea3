#!/usr/bin/env bash
# Unpacks LAVA 2023.01 as Debian ships it into DIR (default /var/cache/basalt-lava), for the tests that compare
# Basalt with LAVA: lava-server's device-type templates, lava-server-doc's example jobs, and lava-common's job
# schema with the voluptuous library it needs. Nothing is installed: the packages are downloaded with the
# machine's own apt sources and unpacked with dpkg-deb, so no LAVA service starts. Safe to run again.
set -euo pipefail
DIR="${1:-/var/cache/basalt-lava}"
PACKAGES=(lava-server lava-server-doc lava-common python3-voluptuous)

if [ -s "$DIR/.complete" ] && [ "$(cat "$DIR/.complete")" = "${PACKAGES[*]}" ]; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
# apt-get download drops privileges to _apt where it can; the directory must be writable for it.
chown _apt "$work" 2>/dev/null || true
# A machine whose package lists are empty or stale gets them refreshed once, then tries again.
(cd "$work" && apt-get download -qq "${PACKAGES[@]}") || {
  apt-get update -qq
  (cd "$work" && apt-get download -qq "${PACKAGES[@]}")
}
mkdir -p "$DIR"
for deb in "$work"/*.deb; do
  dpkg-deb -x "$deb" "$DIR"
done
printf '%s\n' "${PACKAGES[*]}" > "$DIR/.complete"
echo "LAVA reference files in $DIR: $(ls "$DIR/usr/share/lava-server/device-types" | wc -l) device-type templates"
