/**
 * Talking to a bootloader on the console: wait for its interrupt prompt, stop
 * the autoboot, type commands (paced by their echo: console.ts typeLine) and
 * check each one's answer. U-Boot, GRUB, iPXE,
 * barebox, depthcharge and UEFI menus differ only in their prompts, interrupt
 * keys, error messages and commands, which come from the device's configuration
 * (resources/device.ts): one driver, many configurations.
 */
import type { BootloaderResource } from "../resources/device.ts";
import type { Console, ExpectMatch } from "./console.ts";
import { ConfigurationError, InfrastructureError } from "../job/errors.ts";

/** Waits on the console for one of `patterns`; the caller decides what a timeout or a panic means. */
export type Expect = (patterns: readonly (string | RegExp)[], what: string) => Promise<ExpectMatch>;

export interface BootloaderOptions {
  /** Milliseconds between characters typed, for slow serial lines (`character_delays: boot`). */
  readonly characterDelayMs: number;
  readonly signal?: AbortSignal;
}

export class BootloaderDriver {
  readonly #errors: RegExp[];
  readonly #prompt: RegExp;
  readonly #interruptPrompt: RegExp;
  readonly #final: RegExp | undefined;

  constructor(
    readonly config: BootloaderResource,
    private readonly console: Console,
    private readonly expect: Expect,
    private readonly options: BootloaderOptions,
  ) {
    // Prompts are regular expressions, as LAVA's (pexpect's) are.
    this.#errors = config.errorMessages.map((e) => pattern(e, `constants.${config.method}.error-messages`));
    this.#prompt = pattern(config.prompt, `${config.method} bootloader_prompt`);
    this.#interruptPrompt = pattern(config.interruptPrompt, `${config.method} interrupt_prompt`);
    this.#final = config.finalMessage ? pattern(config.finalMessage, `${config.method} final-message`) : undefined;
  }

  /** Stops the autoboot at the interrupt prompt and waits for the bootloader's own prompt. */
  async interrupt(): Promise<void> {
    const { config, console, options } = this;
    if (config.needsInterrupt) {
      await this.expect([this.#interruptPrompt], `the bootloader's "${config.interruptPrompt}"`);
      // As LAVA: the control characters when the device names any, else the interrupt character.
      for (const control of config.interruptControlCharacters) {
        await console.send(controlCharacter(control, config.method), { delayMs: options.characterDelayMs });
      }
      const character = config.interruptControlCharacters.length > 0 ? "" : config.interruptCharacter;
      const text = character === "" || character === "\n" || !config.interruptNewline ? character : `${character}\n`;
      if (text) await console.send(text, { delayMs: options.characterDelayMs });
    }
    await this.expect([this.#prompt], "the bootloader prompt");
  }

  /**
   * Types each command, waiting for the prompt between them; an error message
   * instead of the prompt fails the boot. The last command starts the kernel: after
   * it, the bootloader's final message is awaited when it has one (unless the
   * caller stays in the bootloader: `awaitFinal: false`).
   */
  async run(commands: readonly string[], options: { awaitFinal?: boolean } = {}): Promise<void> {
    const awaitFinal = options.awaitFinal ?? true;
    for (const [i, command] of commands.entries()) {
      // Only the prompt that follows this command's answer counts: one printed before it (U-Boot prints two when
      // its interrupt key comes with a newline) would send the next command while this one runs, and U-Boot
      // swallows keys typed during a transfer.
      await this.console.typeLine(command, {
        delayMs: this.options.characterDelayMs,
        signal: this.options.signal,
        answerOnly: true,
        lineEnd: this.config.lineSeparator,
      });
      const last = i === commands.length - 1;
      if (last && (!this.#final || !awaitFinal)) break;
      const awaited = last ? this.#final! : this.#prompt;
      const match = await this.expect(
        [awaited, ...this.#errors],
        last ? "the bootloader's final message" : "the bootloader prompt",
      );
      if (match.index > 0) throw new InfrastructureError(`bootloader error after "${command}": ${match.match[0]}`);
    }
  }
}

/** The command list `name` of the bootloader, or the job's own list. */
export function commandList(config: BootloaderResource, commands: unknown): string[] {
  if (Array.isArray(commands)) return commands.map(String);
  const set = typeof commands === "string" && Object.hasOwn(config.commandSets, commands)
    ? config.commandSets[commands]
    : undefined;
  if (set) {
    return set.map((step, i) => {
      if (typeof step === "string") return step;
      throw new ConfigurationError(
        `actions.boot.methods.${config.method}.${commands}.commands.${i}: ${
          JSON.stringify(step).slice(0, 80)
        } is a menu step, not a command line`,
      );
    });
  }
  const known = Object.keys(config.commandSets).join(", ") || "none";
  throw new ConfigurationError(
    `the device defines no ${config.method} command set ${JSON.stringify(commands)} (it has: ${known})`,
  );
}

/** `{KERNEL_ADDR}`-style placeholders filled in; unknown ones are left as they are, as LAVA leaves them. */
export function fillPlaceholders(commands: readonly string[], values: Readonly<Record<string, string>>): string[] {
  return commands.map((command) => command.replace(/\{([A-Z_]+)\}/g, (whole, key) => values[key] ?? whole));
}

/**
 * A pattern from the rendered device configuration. A job's context can set some
 * of them, so one that is not a regular expression is a configuration error
 * naming the field, not a bug.
 */
export function pattern(source: string, field: string): RegExp {
  try {
    return new RegExp(source);
  } catch (error) {
    throw new ConfigurationError(
      `${field} ${JSON.stringify(source.slice(0, 200))} is not a regular expression: ${(error as Error).message}`,
    );
  }
}

/** "c" is Ctrl-C: LAVA's `interrupt_ctrl_list` names control characters by their letter. */
function controlCharacter(letter: string, method: string): string {
  const code = letter.toLowerCase().charCodeAt(0);
  if (letter.length !== 1 || code < 97 || code > 122) {
    throw new ConfigurationError(`${method} interrupt_ctrl_list: ${JSON.stringify(letter)} is not a letter a-z`);
  }
  return String.fromCharCode(code - 96);
}
