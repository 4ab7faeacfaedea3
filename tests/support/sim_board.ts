/**
 * The simulated board for tests (worker/sim/lab_board.ts), its rendered device
 * configuration, and stand-in boot files and jobs for it.
 */
import { renderDevice } from "../../master/devices/dictionary.ts";
import { jinjaEnvironment } from "../../master/devices/jinja.ts";
import { SimulatedBoard } from "../../worker/sim/lab_board.ts";

export { SimulatedBoard };

const ROOT = new URL("../..", import.meta.url).pathname;

/** The board's rendered device configuration, as the master would send it. */
export function boardDeviceYaml(board: SimulatedBoard, extra = "", connection?: string): string {
  const env = jinjaEnvironment([`${ROOT}master/devices/templates`]);
  const device = renderDevice(env, {
    dictionary: board.dictionary(extra, connection),
    name: "board1",
    hostname: "board1",
    deviceType: "sim-uboot-board",
  });
  if (device.errors.length > 0) throw new Error(`sim-uboot-board: ${device.errors[0].message}`);
  return device.yaml;
}

export { bootFiles, ubootJob } from "../../ops/dut_jobs.ts";
