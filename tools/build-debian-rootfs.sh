#!/bin/bash
# build-debian-rootfs.sh OUTDIR -- a Debian root filesystem for QEMU x86_64 devices, built with debootstrap from
# Debian's packages (the mirror is this machine's own, read from its apt sources):
#   rootfs.ext4   the root filesystem as a raw ext4 disk image (label "debian"): systemd, a login on the serial
#                 console (root / root, prompt "root@debian:~#"), lsb-release, procps, iproute2, util-linux, kmod,
#                 wget (what LAVA's transfer_overlay downloads the overlay with); a disk (root=/dev/vda) or an NBD
#                 root (LAVA's nbdroot, /dev/nbd0): its fstab is empty, the root being whatever the kernel mounted
#   rootfs.tar.gz the same tree as a tarball (owners kept), for an NFS root (LAVA's nfsrootfs)
#   packages      what is installed in it (name and version, one per line)
#   vmlinuz       the kernel installed in it (linux-image-amd64)
#   initrd.img    its initramfs-tools initrd (finds the root by root=/dev/vda, or any other root= it is given)
#   README        how to boot it
# Linaro's test definitions (smoke, meminfo, ...) run on it unchanged with SKIP_INSTALL=True: what they would
# install is there. Needs root. Takes a minute or two; the packages stay in OUTDIR/.cache for the next build.
set -euo pipefail
OUT=$(realpath -m "${1:?usage: $0 OUTDIR}"); mkdir -p "$OUT/.cache"
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
[ "$(id -u)" = 0 ] || { echo "run as root (debootstrap)" >&2; exit 1; }
command -v debootstrap >/dev/null && command -v mke2fs >/dev/null ||
  { apt-get update -qq; apt-get install -y -qq --no-install-recommends debootstrap e2fsprogs >/dev/null; }

# The machine's Debian mirror and suite: the first enabled "deb" source of Debian's own archive (not its security
# archive) in its deb822 or one-line apt sources; BASALT_DEBIAN_MIRROR="URL SUITE" chooses another.
mirror() {
  if [ -n "${BASALT_DEBIAN_MIRROR:-}" ]; then echo "$BASALT_DEBIAN_MIRROR"; return; fi
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    awk 'BEGIN { RS = ""; IGNORECASE = 1 } !/security/ && !/Enabled: *no/ {
      t = u = s = ""
      for (i = 1; i < NF; i++) { if ($i == "Types:") t = $(i+1); if ($i == "URIs:") u = $(i+1); if ($i == "Suites:") s = $(i+1) }
      if (t == "deb" && u != "" && s != "" && (/debian-archive-keyring|Signed-By: *\/usr\/share\/keyrings\/debian/ || u ~ /debian/)) {
        print u, s; exit } }' "$f"
  done
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i !~ /^\[/) { if ($i ~ /debian/) print $i, $(i+1); break } }'
}
read -r MIRROR SUITE < <(mirror | head -1) || :
[ -n "${MIRROR:-}" ] && [ -n "${SUITE:-}" ] || { echo "no Debian mirror in this machine's apt sources (set BASALT_DEBIAN_MIRROR=\"URL SUITE\")" >&2; exit 1; }
SUITE=${SUITE%%-*}   # bookworm-updates -> bookworm

W=$(mktemp -d "$OUT/.build-XXXXXX"); trap 'rm -rf "$W"' EXIT
R="$W/root"
debootstrap --variant=minbase --cache-dir="$OUT/.cache" \
  --include=systemd-sysv,udev,linux-image-amd64,initramfs-tools,lsb-release,procps,iproute2,kmod,wget \
  "$SUITE" "$R" "$MIRROR" > "$W/debootstrap.log" 2>&1 || { tail -20 "$W/debootstrap.log" >&2; exit 1; }

KVER=$(ls "$R/lib/modules")
install -m 644 "$R/boot/vmlinuz-$KVER" "$W/vmlinuz"
install -m 644 "$R/boot/initrd.img-$KVER" "$W/initrd.img"
# What a virtual board never has, out of the disk (the initrd keeps its own modules): about half its size.
for d in sound drivers/gpu drivers/media drivers/net/wireless drivers/infiniband drivers/staging net/wireless \
  net/mac80211 drivers/bluetooth net/bluetooth drivers/iio drivers/isdn drivers/net/ethernet/mellanox; do
  rm -rf "$R/lib/modules/$KVER/kernel/$d"
done
chroot "$R" depmod "$KVER"
rm -rf "$R"/usr/share/doc/* "$R"/usr/share/man/* "$R"/usr/share/locale/* "$R"/var/cache/apt/archives/*.deb \
  "$R"/var/lib/apt/lists/*
echo "root:root" | chroot "$R" chpasswd
echo debian > "$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n' > "$R/etc/hosts"
# A serial console is the only screen: no colours or bracketed paste to garble what the lab reads.
printf 'export SYSTEMD_COLORS=0\nbind "set enable-bracketed-paste off" 2>/dev/null\n' > "$R/etc/profile.d/basalt-serial.sh"
# The root is whatever the kernel mounted (a disk, an NFS export, an NBD device): no fstab line waits for one of them.
printf '# the root filesystem is the one the kernel mounted\n' > "$R/etc/fstab"
chroot "$R" dpkg-query -W -f='${Package} ${Version}\n' > "$W/packages"
tar -C "$R" --numeric-owner -cf - . | gzip -1 > "$W/rootfs.tar.gz"
mke2fs -q -F -t ext4 -L debian -E root_owner=0:0 -d "$R" "$W/rootfs.ext4" 900M
VERSION=$(chroot "$R" dpkg-query -W -f='${Version}' "linux-image-$KVER")

cat > "$W/README" <<EOF
Debian $SUITE root filesystem built $(date -u +%F) with debootstrap from $MIRROR (kernel $KVER, $VERSION).
Login root / root on the serial console; prompt "root@debian:~#".
  qemu-system-x86_64 -accel tcg -m 1024 -nographic -kernel $OUT/vmlinuz -initrd $OUT/initrd.img \\
    -append "root=/dev/vda rw console=ttyS0" -drive format=raw,file=$OUT/rootfs.ext4,if=virtio -nic user,model=virtio-net-pci
EOF
for f in rootfs.ext4 rootfs.tar.gz vmlinuz initrd.img packages README; do mv -f "$W/$f" "$OUT/$f"; done
ls -l "$OUT"
