/**
 * The overlay as a gzipped tarball whose members start at the device's `/`, owned
 * by root: what LAVA sends a device that unpacks the overlay itself
 * (`transfer_overlay`, an ssh deploy's scp).
 */
import { InfrastructureError } from "../job/errors.ts";

export async function overlayTarball(root: string, archive: string): Promise<void> {
  const output = await new Deno.Command("tar", {
    args: ["-C", root, "--owner=0", "--group=0", "--numeric-owner", "-czf", archive, "."],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new InfrastructureError(
      `the overlay's tarball: tar failed: ${new TextDecoder().decode(output.stderr).slice(0, 400)}`,
    );
  }
}
