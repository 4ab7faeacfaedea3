/**
 * Steering a numbered firmware menu on the console, as LAVA's menu selector
 * does: wait for the menu's prompt, find each wanted label among the lines the
 * menu printed before it ("[3] Boot Manager"), answer with its number, type what
 * the sequence enters, and wait for what each step says comes next. Nothing is
 * sent while waiting (a newline would move the menu on).
 */
import type { Console, ExpectMatch } from "./console.ts";
import { itemPattern, type MenuResource, type MenuStep } from "../resources/menu.ts";
import { ConfigurationError, JobError } from "../job/errors.ts";
import { pattern } from "./bootloader.ts";

/** Waits on the console for `patterns`; the caller decides what a timeout means. */
export type MenuExpect = (patterns: readonly RegExp[], what: string) => Promise<ExpectMatch>;

export interface MenuOptions {
  readonly characterDelayMs: number;
  readonly log: (message: string) => void;
  /** Ends typing when the job is cancelled or its action times out. */
  readonly signal?: AbortSignal;
}

/**
 * The number of the item labelled `label` in `output`, the latest menu first
 * (the last lines printed win); undefined when no line has that label.
 */
export function menuSelection(menu: MenuResource, output: string, label: string): string | undefined {
  const item = itemPattern(menu);
  for (const line of output.split("\n").reverse()) {
    const found = item.exec(line.trim());
    if (found && found[2] === label) return found[1];
  }
  return undefined;
}

export class MenuDriver {
  /** What the menu printed before the prompt last matched: where items are looked up. */
  #shown = "";

  constructor(
    readonly menu: MenuResource,
    private readonly console: Console,
    private readonly expect: MenuExpect,
    private readonly options: MenuOptions,
  ) {}

  /** Waits for the interrupt prompt and sends the interrupt string (no newline), as LAVA's menu interrupt. */
  async interrupt(): Promise<void> {
    const { menu } = this;
    if (menu.interruptPrompt === undefined || menu.interruptString === undefined) {
      throw new ConfigurationError(
        `actions.boot.methods.${menu.method}.parameters: Missing interrupt prompt or interrupt string ` +
          "(interrupt_prompt, interrupt_string)",
      );
    }
    await this.#wait(menu.interruptPrompt, "interrupt_prompt");
    await this.#send(menu.interruptString);
  }

  /**
   * Waits for the menu's prompt, then goes through `steps`; with `bootMessage`, waits for it at the end
   * (what the firmware prints when it starts the chosen entry).
   */
  async select(steps: readonly MenuStep[], bootMessage?: string): Promise<void> {
    await this.#wait(this.menu.prompt, "bootloader_prompt");
    for (const step of steps) {
      for (const label of step.items ?? []) {
        let choice = menuSelection(this.menu, this.#shown, label);
        if (choice === undefined && step.fallback !== undefined) {
          choice = menuSelection(this.menu, this.#shown, step.fallback);
        }
        if (choice === undefined) {
          throw new JobError(
            `No selection was made: no item ${JSON.stringify(label)} in the menu` +
              ` (${JSON.stringify(this.#shown.slice(-300))})`,
          );
        }
        this.options.log(`Selecting option ${choice} (${label})`);
        await this.#send(`${choice}${this.menu.lineSeparator}`);
        if (step.wait !== undefined) await this.#wait(step.wait, "wait");
      }
      if (step.escape) {
        this.options.log("Sending escape");
        await this.#send("\x1b");
        if (step.wait !== undefined) await this.#wait(step.wait, "wait");
      }
      if (step.enter !== undefined) {
        this.options.log(`Sending ${step.enter} Ctrl-M`);
        await this.#send(`${step.enter}\r`);
        if (step.wait !== undefined) await this.#wait(step.wait, "wait");
      }
    }
    if (bootMessage !== undefined) await this.#wait(bootMessage, "boot_message");
  }

  #send(text: string): Promise<void> {
    return this.console.send(text, { delayMs: this.options.characterDelayMs, signal: this.options.signal });
  }

  async #wait(prompt: string, field: string): Promise<void> {
    const found = await this.expect([pattern(prompt, `${this.menu.method} ${field}`)], JSON.stringify(prompt));
    this.#shown = found.before;
  }
}
