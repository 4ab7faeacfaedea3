/**
 * The soak's jobs: the actions every one runs on a soak device
 * (bench/soak/devices.ts) — a deploy, a minimal boot to the shell the device is
 * already at, and the one inline test definition the device answers for — and
 * the stream's mix of single jobs, MultiNode pairs, cancelled and failing jobs.
 */
import { stringify } from "yaml";
import { DEFAULT_PROMPT, SOAK_TEST_NAME } from "./devices.ts";

export type Kind = "single" | "multinode" | "cancel" | "fail";

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

/** A job's kind, spread evenly: 1 in 10 a MultiNode pair, 1 in 20 cancelled, 1 in 20 failing. */
export function kindOf(index: number): Kind {
  if (index % 10 === 5) return "multinode";
  if (index % 20 === 3) return "cancel";
  if (index % 20 === 13) return "fail";
  return "single";
}

function soakActions(ramdisk: string, role?: string[]) {
  const withRole = (block: Record<string, unknown>) => role ? { ...block, role } : block;
  return [
    { deploy: withRole({ to: "tmpfs", images: { ramdisk: { url: `file://${ramdisk}` } } }) },
    { boot: withRole(SOAK_BOOT) },
    { test: withRole(soakTest(5)) },
  ];
}

export function soakJob(ramdisk: string, kind: Kind, index: number): string {
  const common = { timeouts: { job: { minutes: 10 }, action: { minutes: 5 } }, visibility: "public" };
  if (kind === "multinode") {
    return stringify({
      ...common,
      job_name: `soak ${index} (MultiNode)`,
      protocols: {
        "lava-multinode": {
          roles: { one: { device_type: "soak", count: 1 }, two: { device_type: "soak", count: 1 } },
          timeout: { minutes: 5 },
        },
      },
      actions: soakActions(ramdisk, ["one", "two"]),
    });
  }
  return stringify({
    ...common,
    device_type: "soak",
    job_name: `soak ${index} (${kind})`,
    actions: soakActions(ramdisk),
  });
}
