/**
 * Where a job's values may land in its device's configuration. The fence check
 * (`job_values.ts`) keeps them inside the scalars they are printed in; this says
 * which scalars may hold them at all, because some scalars are run on the worker:
 *
 * - `commands` (power, reset, connection, user commands) is run with `sh -c`: no
 *   job value may reach it.
 * - QEMU's command line (`actions.boot.methods.<method>.parameters` `command`,
 *   `options`, `extra`) takes a job's `arch`, `machine`, `cpu`, `memory` and
 *   `extra_options`, as LAVA's templates allow. A job may tune the machine there,
 *   but not hand QEMU a file, a program or a host socket: the words a job wrote
 *   must be options from {@link JOB_QEMU_OPTIONS}, and no sub-option of theirs
 *   may name a host path or program ({@link HOST_KEYS}). Otherwise
 *   `-chardev file,path=/etc/cron.d/x`, `-netdev tap,script=...` or
 *   `-machine dumpdtb=...` would write or run anything the worker can.
 *
 * A job's value breaking these is the job's error, named by its context key.
 */
import type { JobStrings } from "./job_values.ts";

const OPEN = "\uE000";
const CLOSE = "\uE001";

/** QEMU options a job may add, and whether each takes a value. */
export const JOB_QEMU_OPTIONS: Readonly<Record<string, boolean>> = {
  "-smp": true,
  "-m": true,
  "-cpu": true,
  "-machine": true,
  "-M": true,
  "-accel": true,
  "-enable-kvm": false,
  "-nographic": false,
  "-no-reboot": false,
  "-no-shutdown": false,
  "-rtc": true,
  "-boot": true,
  "-vga": true,
  "-display": true,
  "-usb": false,
  "-device": true,
  "-global": true,
  "-netdev": true,
  "-nic": true,
  "-net": true,
  "-name": true,
  "-uuid": true,
  "-k": true,
  "-snapshot": false,
  "-no-hpet": false,
  "-no-acpi": false,
  "-nodefaults": false,
  "-append": true,
  "-icount": true,
  "-overcommit": true,
  "-watchdog-action": true,
};

/** Sub-option names that make QEMU open a host file, socket or program. */
export const HOST_KEYS: ReadonlySet<string> = new Set([
  "file",
  "filename",
  "path",
  "romfile",
  "dumpdtb",
  "mem-path",
  "script",
  "downscript",
  "helper",
  "smb",
  "tftp",
  "bootfile",
  "logfile",
  "fd",
  "fds",
  "vhostfd",
  "vhostfds",
  "sock",
  "socket",
  "chardev",
  "memdev",
  "x-mem-path",
]);

/** Network back ends a job may pick: QEMU's user-mode network, or none. */
const JOB_NETWORKS = new Set(["user", "none", "nic"]);
/** Devices that reach host files, memory or the host's own services. */
const HOST_DEVICES =
  /^(loader|vfio|vhost|ivshmem|nvdimm|pc-dimm|virtio-pmem|vmcoreinfo|pci-assign|vhost-vsock|guest-loader)/;

/** Where QEMU's command line is in a device configuration: the program, and the lists of options. */
const QEMU_SCALAR = /^actions\.boot\.methods\.[^.]+\.parameters\.(command|options|extra)(\[\d+\])?$/;
const QEMU_LIST = /^actions\.boot\.methods\.[^.]+\.parameters\.(options|extra)$/;

/** A word of a scalar, and whether any of it is a job's text. */
interface Word {
  readonly text: string;
  readonly job: boolean;
}

/** The words of a fenced scalar, marking those that hold (part of) a job's value. */
function words(fenced: string): Word[] {
  const out: Word[] = [];
  let text = "";
  let job = false;
  let inside = false;
  const end = () => {
    if (text !== "") out.push({ text, job });
    text = "";
    job = inside;
  };
  for (const ch of fenced) {
    if (ch === OPEN) {
      inside = true;
      job = true;
    } else if (ch === CLOSE) {
      inside = false;
    } else if (/\s/.test(ch)) {
      end();
    } else {
      text += ch;
      if (inside) job = true;
    }
  }
  end();
  return out;
}

/** The context key of the job value printed in `fenced`, for errors. */
function culprit(fenced: string, strings: JobStrings): string {
  const start = fenced.indexOf(OPEN);
  const value = fenced.slice(start + 1, fenced.indexOf(CLOSE, start + 1));
  const key = strings.byText.get(value);
  return key !== undefined ? `context.${key}` : "a value of the job's context";
}

/**
 * Why a job's value may not be where it landed (`path`, in `fenced`), or undefined
 * when it may. `path` is the YAML path of the scalar (`commands.power_on`).
 */
export function jobValueMisplaced(path: string, fenced: string): string | undefined {
  if (!fenced.includes(OPEN)) return undefined;
  if (path === "commands" || path.startsWith("commands.") || path.startsWith("commands[")) {
    return `ends up in ${path}, a command the worker runs: a job's value may not`;
  }
  const qemu = QEMU_SCALAR.exec(path);
  if (!qemu) return undefined;
  const list = words(fenced);
  if (qemu[1] === "command") {
    const bad = list.find((w) => w.job && !/^[A-Za-z0-9_.-]+$/.test(w.text));
    return bad ? `puts ${JSON.stringify(bad.text)} into QEMU's program name at ${path}` : undefined;
  }
  return qemuWordsProblem(list, path);
}

function qemuWordsProblem(list: readonly Word[], path: string): string | undefined {
  for (let i = 0; i < list.length; i++) {
    const word = list[i];
    const option = word.text.startsWith("-") ? word.text : undefined;
    if (option !== undefined) {
      if (word.job && !(option in JOB_QEMU_OPTIONS)) {
        return `adds the QEMU option ${option} at ${path}; a job may add ${Object.keys(JOB_QEMU_OPTIONS).join(" ")}`;
      }
      continue;
    }
    if (!word.job) continue;
    const previous = list[i - 1]?.text;
    const problem = valueProblem(word.text, previous);
    if (problem) return `${problem} at ${path}`;
  }
  return undefined;
}

/** What is wrong with a job's value given to QEMU option `option` (a comma-separated list of sub-options). */
function valueProblem(value: string, option: string | undefined): string | undefined {
  if (value.includes(",,")) return `gives QEMU an escaped comma in ${JSON.stringify(value)}`;
  if (option === "-append") return undefined; // the kernel command line goes to the device, not the worker
  const parts = value.split(",");
  if (option === "-netdev" || option === "-nic" || option === "-net") {
    if (!JOB_NETWORKS.has(parts[0])) return `gives QEMU the ${parts[0]} network back end; a job may use user or none`;
  }
  if (option === "-device" && HOST_DEVICES.test(parts[0])) return `adds the QEMU device ${parts[0]}`;
  for (const part of parts) {
    const key = part.split("=", 1)[0];
    // -global takes DRIVER.PROPERTY=VALUE.
    const name = option === "-global" ? key.slice(key.lastIndexOf(".") + 1) : key;
    if (part.includes("=") && HOST_KEYS.has(name)) {
      return `gives QEMU ${JSON.stringify(part)}, which names a host file, socket or program`;
    }
  }
  return undefined;
}

/** Checks every scalar of the fenced document; throws `fail(message)` for the first misplaced job value. */
export function checkJobReach(
  marked: unknown,
  strings: JobStrings,
  fail: (message: string) => never,
): void {
  const visit = (value: unknown, path: string) => {
    if (Array.isArray(value) && QEMU_LIST.test(path) && value.some((v) => typeof v === "string" && v.includes(OPEN))) {
      // QEMU's options are one command line: an option in one item takes its value from the next.
      const items = value.map(String);
      const problem = qemuWordsProblem(items.flatMap(words), path);
      if (problem) fail(`${culprit(items.find((i) => i.includes(OPEN))!, strings)} ${problem}`);
      return;
    }
    if (typeof value === "string") {
      const problem = jobValueMisplaced(path, value);
      if (problem) fail(`${culprit(value, strings)} ${problem}`);
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => visit(item, `${path}[${i}]`));
    } else if (value !== null && typeof value === "object") {
      for (const [key, item] of Object.entries(value)) {
        const name = key.replace(/[\uE000\uE001]/g, "");
        const at = path ? `${path}.${name}` : name;
        // A job's value printed as a key (a user command's name, say) counts where its entry is.
        const problem = jobValueMisplaced(at, key);
        if (problem) fail(`${culprit(key, strings)} ${problem}`);
        visit(item, at);
      }
    }
  };
  visit(marked, "");
}
