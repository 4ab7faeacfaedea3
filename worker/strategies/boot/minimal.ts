/**
 * LAVA's `minimal` boot: connect to the device's console, power-cycle it unless
 * the job says `reset: false`, and take whatever it boots to.
 */
import { shape } from "../../../actors/definitions/pipeline.ts";
import type { Strategy } from "../strategy.ts";
import { CONNECT_SHAPE, CONNECTION_ACTIONS, RESET_SHAPE } from "./connection.ts";
import { SESSION_ACTIONS, shellSessionShape } from "./session.ts";

export const minimalBoot: Strategy = {
  section: "boot",
  methods: ["minimal"],
  shape: (block) =>
    shape("minimal-boot", "connect and reset device", "connect and reset device", {
      pipeline: [CONNECT_SHAPE, ...(block.reset === false ? [] : [RESET_SHAPE]), ...shellSessionShape(block)],
    }),
  actions: () => ({ ...CONNECTION_ACTIONS, ...SESSION_ACTIONS }),
};
