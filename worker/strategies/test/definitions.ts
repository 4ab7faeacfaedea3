/** LAVA's test action with `definitions`: the test shell runs them on the booted device (shell.ts). */
import { shape } from "../../../actors/definitions/pipeline.ts";
import type { Strategy } from "../strategy.ts";
import { TEST_ACTIONS } from "./shell.ts";

export const testDefinitions: Strategy = {
  section: "test",
  methods: ["definitions"],
  shape: () =>
    shape("lava-test-retry", "Retry wrapper for lava-test-shell", "Retry support for Lava Test Shell", {
      retry: true,
      pipeline: [shape("lava-test-shell", "Executing lava-test-runner", "Lava Test Shell")],
    }),
  actions: () => TEST_ACTIONS,
};
