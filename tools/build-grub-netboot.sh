#!/bin/bash
# build-grub-netboot.sh DIR -- GRUB for a PC that netboots it, from Debian's grub-pc-bin and grub-efi-amd64-bin only:
#   DIR/grub.pxe        GRUB's PXE image (i386-pc-pxe): the file a DHCP server names as the boot file to a BIOS
#   DIR/grubx64.efi     the same GRUB as a UEFI application (x86_64-efi), for UEFI firmware's PXE boot
#   DIR/grub/grub.cfg   their menu, read over TFTP: GRUB on the first serial port, one entry, 5 s to stop it
# DIR is the TFTP root the PC's PXE firmware fetches from (the worker's tftp_root, or QEMU's tftp=).
# At GRUB's menu LAVA's grub boot method presses "c" and types its commands (net_bootp, linux, initrd).
set -euo pipefail
DIR=$(realpath -m "${1:?usage: $0 DIR}")
if ! command -v grub-mkimage >/dev/null || [ ! -d /usr/lib/grub/i386-pc ] || [ ! -d /usr/lib/grub/x86_64-efi ]; then
  [ "$(id -u)" = 0 ] ||
    { echo "GRUB is missing: sudo apt-get install grub-pc-bin grub-efi-amd64-bin" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends grub-pc-bin grub-efi-amd64-bin \
    grub-common >/dev/null
fi
mkdir -p "$DIR/grub"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
# Before the menu is read: GRUB's console on the serial line, where the lab reads it. Keys are read
# from the BIOS too: a PC whose BIOS redirects its console to the serial line (SeaBIOS does under
# QEMU -nographic) takes typed keys from the line into its keyboard buffer, where GRUB reading only
# the UART would never see them.
printf '%s\n' 'serial --unit=0 --speed=115200' 'terminal_input serial console' 'terminal_output serial' > "$W/early.cfg"
# Every module the commands need is built in: GRUB loads none over the network.
grub-mkimage -O i386-pc-pxe -o "$DIR/grub.pxe" -p '(pxe)/grub' -c "$W/early.cfg" \
  pxe tftp net linux normal serial terminal terminfo echo boot configfile test
# Under UEFI GRUB's network is the firmware's (efinet), configured from the PXE boot that started it.
grub-mkimage -O x86_64-efi -o "$DIR/grubx64.efi" -p '(tftp)/grub' -c "$W/early.cfg" \
  efinet tftp net linux normal serial terminal terminfo echo boot configfile test
cat > "$DIR/grub/grub.cfg" <<'CFG'
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial
set timeout=5
menuentry 'Local disk' {
  echo 'This board has no disk.'
}
CFG
