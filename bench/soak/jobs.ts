/**
 * The actions every soak job runs on a soak device (bench/soak/devices.ts): a
 * deploy the caller chooses, a minimal boot to the shell the device is already
 * at, and the one inline test definition the device answers for.
 */
import { DEFAULT_PROMPT, SOAK_TEST_NAME } from "./devices.ts";

/** The boot: the device is already at its shell. */
export const SOAK_BOOT = { method: "minimal", reset: false, prompts: [DEFAULT_PROMPT], timeout: { minutes: 1 } };

/** The test action: one inline definition, whose run id the device prints (`0_soak`). */
export function soakTest(minutes: number): Record<string, unknown> {
  return {
    timeout: { minutes },
    definitions: [{
      from: "inline",
      name: SOAK_TEST_NAME,
      path: `inline/${SOAK_TEST_NAME}.yaml`,
      repository: {
        metadata: { format: "Lava-Test Test Definition 1.0", name: SOAK_TEST_NAME },
        run: { steps: ["true"] },
      },
    }],
  };
}
