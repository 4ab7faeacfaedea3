/**
 * LAVA's `minimal` boot: connect to the device's console, run its pre-power and
 * pre-OS commands if the job asks, reset it unless the job says `reset: false`,
 * and take whatever it boots to. Retried whole, as LAVA's.
 */
import { shape } from "../../../actors/definitions/pipeline.ts";
import type { Strategy } from "../strategy.ts";
import { CONNECT_SHAPE, CONNECTION_ACTIONS, preCommandShapes, resetShape } from "./connection.ts";
import { SESSION_ACTIONS, shellSessionShape } from "./session.ts";

export const minimalBoot: Strategy = {
  section: "boot",
  methods: ["minimal"],
  shape: (block, { testHasShell }, device) =>
    shape("minimal-boot", "connect and reset device", "connect and reset device", {
      retry: true,
      pipeline: [
        CONNECT_SHAPE,
        ...preCommandShapes(block),
        ...(block.reset === false ? [] : [resetShape(device)]),
        ...shellSessionShape(block, testHasShell),
      ],
    }),
  actions: () => ({ ...CONNECTION_ACTIONS, ...SESSION_ACTIONS }),
};
