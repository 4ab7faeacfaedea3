/**
 * Local serial lines. `npm:serialport` finds the ports (with their USB vendor,
 * product and serial number) and applies the line settings; the bytes then go
 * through libc's read/write/poll on the port's file descriptor via FFI, because
 * the package's own I/O does not work under Deno (see DENO-NOTES). Waiting for
 * data happens on a helper thread (a non-blocking FFI call), never by spinning.
 *
 * The package is loaded when a port is first used: its native bindings look for
 * themselves with `__dirname` as they load, which a bundled program (the worker
 * and dispatcher packages) does not have, and most jobs never open a local line.
 */
import type { ConsoleTransport } from "./console.ts";
import { EAGAIN, EINTR, errno, libc, POLLERR, pollFd, POLLHUP, POLLIN, POLLOUT } from "../system/libc.ts";

/** How long one wait on the helper thread lasts, so a close is noticed. */
const WAIT_MS = 250;

const waitFor = (fd: number, events: number) => pollFd(fd, events, WAIT_MS);

export interface SerialSettings {
  readonly baudRate?: number;
  readonly dataBits?: 5 | 6 | 7 | 8;
  readonly parity?: "none" | "even" | "odd";
  readonly stopBits?: 1 | 2;
}

export interface SerialPortInfo {
  readonly path: string;
  readonly manufacturer?: string;
  readonly serialNumber?: string;
  readonly vendorId?: string;
  readonly productId?: string;
}

/** The serial ports of this machine, with what udev knows of their USB identity. */
export async function listSerialPorts(): Promise<SerialPortInfo[]> {
  const { SerialPort } = await import("serialport");
  const ports = await SerialPort.list();
  return ports.map((p) => ({
    path: p.path,
    ...(p.manufacturer ? { manufacturer: p.manufacturer } : {}),
    ...(p.serialNumber ? { serialNumber: p.serialNumber } : {}),
    ...(p.vendorId ? { vendorId: p.vendorId } : {}),
    ...(p.productId ? { productId: p.productId } : {}),
  }));
}

/** Opens `path` (e.g. /dev/ttyUSB0) with the given line settings as a console transport. */
/** A serial line's console: what the line receives comes as a stream. */
export interface SerialTransport extends ConsoleTransport {
  readonly readable: ReadableStream<Uint8Array>;
}

export async function openSerial(path: string, settings: SerialSettings = {}): Promise<SerialTransport> {
  const { SerialPort } = await import("serialport");
  const port = new SerialPort({
    path,
    baudRate: settings.baudRate ?? 115200,
    dataBits: settings.dataBits ?? 8,
    parity: settings.parity ?? "none",
    stopBits: settings.stopBits ?? 1,
    autoOpen: false,
  });
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
  const fd = (port as unknown as { port?: { fd?: number } }).port?.fd;
  if (typeof fd !== "number") throw new Error(`${path}: the serial port opened without a file descriptor`);
  let closed = false;
  const buffer = new Uint8Array(64 * 1024);
  const readable = new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (!closed) {
        const revents = await waitFor(fd, POLLIN);
        if (closed) break;
        if (revents & POLLIN) {
          const n = Number(libc.symbols.read(fd, buffer, BigInt(buffer.length)));
          if (n > 0) return controller.enqueue(buffer.slice(0, n));
          if (n === 0) break;
          const e = errno();
          if (e === EAGAIN || e === EINTR) continue;
          break;
        }
        if (revents & (POLLERR | POLLHUP)) break;
      }
      controller.close();
    },
  });
  return {
    readable,
    async write(bytes) {
      let offset = 0;
      while (offset < bytes.length) {
        if (closed) throw new Error(`${path} is closed`);
        const chunk = bytes.subarray(offset) as Uint8Array<ArrayBuffer>;
        const n = Number(libc.symbols.write(fd, chunk, BigInt(chunk.length)));
        if (n > 0) {
          offset += n;
          continue;
        }
        const e = errno();
        if (n < 0 && e !== EAGAIN && e !== EINTR) throw new Error(`${path}: write failed (errno ${e})`);
        await waitFor(fd, POLLOUT);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => port.close(() => resolve()));
    },
  };
}
