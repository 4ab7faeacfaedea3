import { assertEquals, assertRejects, assertStringIncludes } from "../../tests/support/assert.ts";
import { JobLog } from "../job/log.ts";
import { ConfigurationError, InfrastructureError } from "../job/errors.ts";
import type { BootloaderResource } from "../resources/device.ts";
import { BootloaderDriver, commandList, fillPlaceholders } from "./bootloader.ts";
import { Console } from "./console.ts";
import { processConsole } from "./transports.ts";

/**
 * A bootloader as a shell script: prints its interrupt prompt, records the key it
 * is sent (in hex) and each line after, shows its prompt, echoes what is typed a
 * character at a time as a line editor does, answers each command (an error for
 * "bad"), and boots on "boot".
 */
function scriptedBootloader(): string[] {
  const script = `
    printf '%s\\n' "$INTERRUPT"
    dd bs=1 count=1 2>/dev/null | od -An -tx1 | tr -d ' \\n' > "$RECEIVED"; echo >> "$RECEIVED"
    while true; do
      printf '%s' "$PROMPT"
      line=""
      while IFS= read -r -N1 c; do
        [ "$c" = $'\\n' ] && break
        printf '%s' "$c"; line="$line$c"
      done
      [ "$c" = $'\\n' ] || exit 0
      echo
      echo "$line" >> "$RECEIVED"
      case "$line" in
        bad*) echo "$ERROR" ;;
        slow) sleep 1; while IFS= read -r -t 0.05 -N1 _; do :; done ;;  # keys typed meanwhile are lost, as in U-Boot's tftp
        boot) echo "Starting kernel ..."; echo "Linux version 6.1.0 (builder)"; sleep 5; exit 0 ;;
      esac
    done`;
  return ["bash", "-c", script];
}

function config(method: string, more: Partial<BootloaderResource>): BootloaderResource {
  return {
    method,
    prompt: "=> ",
    interruptPrompt: "Hit any key to stop autoboot",
    interruptCharacter: " ",
    interruptControlCharacters: [],
    interruptNewline: true,
    needsInterrupt: true,
    errorMessages: [],
    commandSets: {},
    lineSeparator: "\n",
    ...more,
  };
}

async function drive(
  bootloader: BootloaderResource,
  env: { interrupt: string; prompt: string; error: string },
  work: (driver: BootloaderDriver) => Promise<void>,
): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "basalt-bootloader-" });
  const received = `${dir}/received`;
  const transport = processConsole(scriptedBootloader(), {
    env: { INTERRUPT: env.interrupt, PROMPT: env.prompt, ERROR: env.error, RECEIVED: received, PATH: "/usr/bin:/bin" },
  });
  const console = new Console(transport, new JobLog());
  try {
    const driver = new BootloaderDriver(
      bootloader,
      console,
      async (patterns, _what) => await console.expect([...patterns], 5_000),
      { characterDelayMs: 0 },
    );
    await work(driver);
  } finally {
    await console.close();
  }
  const lines = (await Deno.readTextFile(received).catch(() => "")).split("\n").filter((l) => l !== "");
  await Deno.remove(dir, { recursive: true });
  return lines;
}

Deno.test("one driver interrupts and commands U-Boot, GRUB and barebox by their configuration alone", async () => {
  const cases = [
    {
      bootloader: config("u-boot", { errorMessages: ["Unknown command"], finalMessage: "Starting kernel" }),
      env: { interrupt: "Hit any key to stop autoboot:  2", prompt: "=> ", error: "Unknown command 'bad'" },
      key: "20",
    },
    {
      bootloader: config("grub", {
        prompt: "grub> ",
        interruptPrompt: "Press enter to boot the selected OS",
        interruptCharacter: "c",
        interruptNewline: false,
        errorMessages: ["error: "],
        finalMessage: "Starting kernel",
      }),
      env: { interrupt: "Press enter to boot the selected OS, `e' to edit", prompt: "grub> ", error: "error: no such" },
      key: "63",
    },
    {
      bootloader: config("barebox", {
        prompt: "barebox@[^:]+:/ ",
        interruptPrompt: "any key to stop autoboot",
        interruptCharacter: "\n",
        errorMessages: ["not found"],
        finalMessage: "Starting kernel",
      }),
      env: {
        interrupt: "Hit m for menu or any key to stop autoboot",
        prompt: "barebox@qemu:/ ",
        error: "bad: not found",
      },
      key: "0a",
    },
  ];
  for (const c of cases) {
    const received = await drive(c.bootloader, c.env, async (driver) => {
      await driver.interrupt();
      await driver.run(["setenv a b", "boot"]);
    });
    assertEquals(received, [c.key, "setenv a b", "boot"], c.bootloader.method);
  }
});

Deno.test("UEFI's shell is stopped with its key alone and each line ends as UEFI reads it, with a carriage return", async () => {
  const bootloader = config("uefi", {
    prompt: "Shell> ",
    interruptPrompt: "any other key to continue",
    interruptNewline: false,
    lineSeparator: "\r\n",
  });
  const env = {
    interrupt: "Press ESC in 5 seconds to skip startup.nsh or any other key to continue.",
    prompt: "Shell> ",
    error: "",
  };
  const received = await drive(bootloader, env, async (driver) => {
    await driver.interrupt();
    // A last command after the two checked: the driver waits for the prompt after each but the last, so both are
    // recorded by the script before the console closes.
    await driver.run(["ifconfig -l", "fs0:\\vmlinuz.efi", "ver"]);
  });
  assertEquals(received.slice(0, 3), ["20", "ifconfig -l\r", "fs0:\\vmlinuz.efi\r"]);
});

Deno.test("each command waits for the prompt after the previous one's answer, not a prompt printed before it", async () => {
  // The interrupt key and its newline make U-Boot print its prompt twice.
  const bootloader = config("u-boot", { finalMessage: "Starting kernel" });
  const env = { interrupt: "Hit any key to stop autoboot", prompt: "=> ", error: "" };
  const received = await drive(bootloader, env, async (driver) => {
    await driver.interrupt();
    await driver.run(["setenv a b", "slow", "setenv c d", "boot"]);
  });
  assertEquals(received, ["20", "setenv a b", "slow", "setenv c d", "boot"]);
});

Deno.test("a bootloader error instead of its prompt fails the boot as the lab's", async () => {
  const bootloader = config("u-boot", { errorMessages: ["Unknown command"], interruptNewline: false });
  const env = { interrupt: "Hit any key to stop autoboot", prompt: "=> ", error: "Unknown command 'bad'" };
  await drive(bootloader, env, async (driver) => {
    await driver.interrupt();
    const error = await assertRejects(() => driver.run(["bad thing", "boot"]), InfrastructureError);
    assertStringIncludes(error.message, `bootloader error after "bad thing": Unknown command`);
  });
});

Deno.test("after the last command the bootloader's final message is awaited, an error instead failing", async () => {
  const bootloader = config("u-boot", {
    errorMessages: ["Unknown command"],
    finalMessage: "Starting kernel",
    interruptNewline: false,
  });
  const env = { interrupt: "Hit any key to stop autoboot", prompt: "=> ", error: "Unknown command 'bad'" };
  await drive(bootloader, env, async (driver) => {
    await driver.interrupt();
    const error = await assertRejects(() => driver.run(["setenv a b", "bad"]), InfrastructureError);
    assertStringIncludes(error.message, `bootloader error after "bad": Unknown command`);
  });
});

Deno.test("control characters go before the interrupt character, as LAVA's interrupt_ctrl_list", async () => {
  const bootloader = config("depthcharge", {
    interruptControlCharacters: ["c"],
    interruptCharacter: "",
    prompt: "dpch: ",
    interruptPrompt: "Starting netboot",
  });
  const env = { interrupt: "Starting netboot on eth0", prompt: "dpch: ", error: "" };
  const received = await drive(bootloader, env, async (driver) => {
    await driver.interrupt();
    await driver.run(["boot"]);
  });
  assertEquals(received[0], "03");
});

Deno.test("command sets come from the device and placeholders are filled, unknown ones left alone", () => {
  const bootloader = config("u-boot", { commandSets: { ramdisk: ["tftp {KERNEL_ADDR} {KERNEL}", "{BOOTX}"] } });
  assertEquals(fillPlaceholders(commandList(bootloader, "ramdisk"), { KERNEL_ADDR: "0x8000", KERNEL: "zImage" }), [
    "tftp 0x8000 zImage",
    "{BOOTX}",
  ]);
  assertEquals(commandList(bootloader, ["echo own", 7]), ["echo own", "7"]);
  const error = assertThrowsConfiguration(() => commandList(bootloader, "nfs"));
  assertStringIncludes(error.message, 'no u-boot command set "nfs" (it has: ramdisk)');
});

function assertThrowsConfiguration(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error("expected a ConfigurationError");
}
