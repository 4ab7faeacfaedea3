import { assert, assertThrows } from "../../tests/support/assert.ts";
import { BUILTIN_TEMPLATES, renderDevice } from "./dictionary.ts";
import { jinjaEnvironment } from "./jinja.ts";
import { JobValueError } from "./job_values.ts";
import { jobValueMisplaced } from "./job_reach.ts";

const env = jinjaEnvironment([BUILTIN_TEMPLATES]);

function render(context: Record<string, unknown>, dictionary = "{% extends 'qemu.jinja2' %}\n") {
  return renderDevice(env, { dictionary, name: "vm.jinja2", hostname: "vm", deviceType: "qemu", context });
}

Deno.test("a job tunes QEMU's machine with the options LAVA jobs use", () => {
  render({
    machine: "virt,gic-version=3",
    cpu: "cortex-a57",
    memory: 2048,
    arch: "aarch64",
    extra_options: ["-smp 2", "-device virtio-rng-pci", "-global", "virtio-blk-device.scsi=off", "-rtc base=utc"],
  });
  render({ extra_options: ["-netdev", "user,id=n0,hostfwd=tcp::2222-:22", "-device", "virtio-net-pci,netdev=n0"] });
});

Deno.test("a job cannot make QEMU open, write or run a file of the worker's", () => {
  const attacks: Record<string, unknown>[] = [
    { extra_options: ["-drive file=/etc/shadow,format=raw"] },
    { extra_options: ["-drive", "file=/etc/shadow"] },
    { extra_options: ["-chardev file,id=c,path=/etc/cron.d/x", "-serial chardev:c"] },
    { extra_options: ["-netdev", "tap,id=n0"] },
    { extra_options: ["-netdev user,id=n0,smb=/"] },
    { extra_options: ["-device loader,file=/etc/shadow,addr=0x1000"] },
    { extra_options: ["-global", "virtio-net-pci.romfile=/etc/shadow"] },
    { extra_options: ["-object memory-backend-file,id=m,mem-path=/etc/x,size=1M"] },
    { extra_options: ["-fw_cfg name=opt/x,file=/etc/shadow"] },
    { machine: "virt,dumpdtb=/etc/cron.d/x" },
    { cpu: "max -drive file=/etc/shadow" },
    { memory: "512 -D /etc/cron.d/x" },
  ];
  for (const context of attacks) {
    let error: unknown;
    try {
      render(context);
    } catch (e) {
      error = e;
    }
    assert(error instanceof JobValueError, `not refused: ${JSON.stringify(context)}: ${error}`);
    assert(/context\.(extra_options|machine|cpu|memory)/.test(error.message), error.message);
  }
});

Deno.test("no job value may reach a command the worker runs", () => {
  const dictionary = "{% extends 'qemu.jinja2' %}\n{% set power_on_command = 'pdu on ' ~ machine %}\n";
  const error = assertThrows(() => render({ machine: "pc" }, dictionary), JobValueError, "commands.power_on");
  assert(error.message.includes("context.machine"), error.message);
  assert(jobValueMisplaced("commands.users.x.do", "echo \uE000x\uE001") !== undefined);
  assert(jobValueMisplaced("actions.boot.methods.qemu.parameters.options[0]", "-m \uE0002048\uE001") === undefined);
});
