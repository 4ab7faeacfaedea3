/**
 * The configuration a lab admin writes by hand for serial boards (LAVA's admin
 * guide does it in prose): udev rules that give each USB serial adapter a name
 * that survives reboots and re-plugging, and a ser2net 4 YAML file serving each
 * on its own TCP port — made from what the machine's serial ports report.
 */
import type { SerialPortInfo } from "./serial.ts";

/** A stable name for a port: its USB serial number, else its device name. */
export function stableName(port: SerialPortInfo): string {
  const base = port.serialNumber ?? port.path.split("/").pop() ?? "serial";
  return `board-${base.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

/** udev rules: /dev/<name> links for every USB port that has a serial number. */
export function udevRules(ports: readonly SerialPortInfo[]): string {
  const lines = ["# /etc/udev/rules.d/60-basalt-serial.rules: stable names for the lab's USB serial adapters"];
  for (const port of ports) {
    if (!port.vendorId || !port.productId || !port.serialNumber) {
      lines.push(`# ${port.path}: no USB vendor, product and serial number; it cannot get a stable name`);
      continue;
    }
    lines.push(
      `SUBSYSTEM=="tty", ATTRS{idVendor}=="${port.vendorId}", ATTRS{idProduct}=="${port.productId}", ` +
        `ATTRS{serial}=="${port.serialNumber}", SYMLINK+="${stableName(port)}", GROUP="dialout", MODE="0660"`,
    );
  }
  return lines.join("\n") + "\n";
}

/** ser2net 4 YAML: one telnet connection per port, from `firstPort` on 127.0.0.1 (or `address`). */
export function ser2netConfig(
  ports: readonly SerialPortInfo[],
  options: { firstPort?: number; address?: string; baud?: number } = {},
): string {
  const first = options.firstPort ?? 7001;
  const address = options.address ?? "127.0.0.1";
  const lines = ["# /etc/ser2net.yaml: each board's console on its own port (telnet ADDRESS PORT)"];
  ports.forEach((port, i) => {
    const name = stableName(port);
    const device = port.serialNumber && port.vendorId ? `/dev/${name}` : port.path;
    lines.push(
      "",
      `connection: &${name.replaceAll("-", "_")}`,
      `  accepter: telnet,tcp,${address},${first + i}`,
      "  enable: on",
      `  connector: serialdev,${device},${options.baud ?? 115200}n81,local`,
      "  options:",
      "    kickolduser: true",
      "    mdns: false",
    );
  });
  return lines.join("\n") + "\n";
}
