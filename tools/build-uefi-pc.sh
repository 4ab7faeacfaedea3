#!/bin/bash
# build-uefi-pc.sh DIR -- the firmware of a PC whose UEFI starts its shell, from Debian's ovmf and dosfstools only:
#   DIR/OVMF_CODE.fd   OVMF's code (read-only flash)
#   DIR/OVMF_VARS.fd   its variable store, in which the "EFI Internal Shell" boots first: OVMF, started once with
#                      no disk and no network card, records its boot options with the shell the only one; boot
#                      options it finds later (a network card's PXE and HTTP boot, which wait minutes for an
#                      answer QEMU's user network never gives) come after it
#   DIR/scratch.fat    a blank 64 MiB FAT disk, fs0: in the shell, where its tftp command saves what it fetches
# At the shell's startup.nsh countdown LAVA's uefi boot method presses a key and types its commands (ifconfig,
# tftp, the kernel's EFI stub with initrd=). Each board copies OVMF_VARS.fd: the firmware writes to it.
set -euo pipefail
DIR=$(realpath -m "${1:?usage: $0 DIR}")
if [ ! -f /usr/share/OVMF/OVMF_CODE_4M.fd ] || ! command -v mkfs.vfat >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "ovmf or dosfstools is missing: sudo apt-get install ovmf dosfstools" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ovmf dosfstools >/dev/null
fi
mkdir -p "$DIR"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
install -m 644 /usr/share/OVMF/OVMF_CODE_4M.fd "$DIR/OVMF_CODE.fd"
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$W/vars.fd"
# OVMF needs more than 256 MiB under TCG (it faults with less). It boots the shell at once: the countdown is awaited
# on its serial line, then QEMU is stopped.
qemu-system-x86_64 -nodefaults -machine q35 -m 512 -display none -monitor none -serial "file:$W/serial.log" \
  -drive "if=pflash,format=raw,readonly=on,file=$DIR/OVMF_CODE.fd" -drive "if=pflash,format=raw,file=$W/vars.fd" \
  -pidfile "$W/qemu.pid" -daemonize
pid=$(cat "$W/qemu.pid")
for _ in $(seq 1 600); do
  grep -q 'startup.nsh' "$W/serial.log" 2>/dev/null && break
  sleep 0.1
done
kill "$pid"
grep -q 'startup.nsh' "$W/serial.log" || { echo "OVMF did not reach its shell:" >&2; tail -c 2000 "$W/serial.log" >&2; exit 1; }
# Its variable store is complete once it has gone.
tail --pid="$pid" -s 0.1 -f /dev/null
install -m 644 "$W/vars.fd" "$DIR/OVMF_VARS.fd"
rm -f "$DIR/scratch.fat"
mkfs.vfat -C -n SCRATCH "$DIR/scratch.fat" 65536 >/dev/null
