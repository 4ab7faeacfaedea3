/** LAVA's `nbd` deploy: as tftp, the root filesystem to be served over NBD. */
import { networkDeploy } from "./tftp.ts";

export const nbdDeploy = networkDeploy("nbd");
