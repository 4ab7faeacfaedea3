/**
 * A FIT image (U-Boot's Flattened Image Tree, which Chromebooks' depthcharge
 * boots): the kernel, device tree and ramdisk packed by `mkimage -f auto`
 * (u-boot-tools), an arm64 kernel lzma-compressed first, as LAVA's prepare-fit
 * packs them.
 */
import { basename, dirname, join } from "../../actors/path.ts";
import { ConfigurationError, InfrastructureError } from "../job/errors.ts";

export interface FitParts {
  readonly kernel: string;
  readonly dtb?: string;
  readonly ramdisk?: string;
  /** mkimage's architecture (`arm64`, `arm`...). */
  readonly arch: string;
  /** The kernel's load address. */
  readonly loadAddress: string;
  /** Ends mkimage and lzma when the job is cancelled or its action times out. */
  readonly signal?: AbortSignal;
}

async function run(argv: string[], what: string, signal?: AbortSignal): Promise<void> {
  const output = await new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped", stderr: "piped", signal })
    .output()
    .catch((error: Error) => {
      throw new InfrastructureError(`${what}: ${argv[0]} could not run (${error.message})`);
    });
  if (!output.success) {
    const why = new TextDecoder().decode(output.stderr).trim().slice(-400);
    throw new InfrastructureError(`${what} failed: ${why}`);
  }
}

/** Packs `parts` into `image.itb` beside the kernel; gives its path. */
export async function makeFitImage(parts: FitParts): Promise<string> {
  if (!/^[A-Za-z0-9_]+$/.test(parts.arch)) {
    throw new ConfigurationError(
      `device configuration actions.deploy.parameters.mkimage_arch: ${
        JSON.stringify(parts.arch)
      } is not an architecture`,
    );
  }
  if (!/^(0x)?[0-9A-Fa-f]+$/.test(parts.loadAddress)) {
    throw new ConfigurationError(
      `device configuration parameters.load_address: ${JSON.stringify(parts.loadAddress)} is not a number`,
    );
  }
  let kernel = parts.kernel;
  let compression = "none";
  if (parts.arch === "arm64") {
    kernel = join(dirname(parts.kernel), `${basename(parts.kernel)}.lzma`);
    await run(["lzma", "--keep", "--force", parts.kernel], "FIT image creation (lzma)", parts.signal);
    compression = "lzma";
  }
  const fit = join(dirname(parts.kernel), "image.itb");
  await run(
    [
      "mkimage",
      ...["-D", "-I dts -O dtb -p 2048", "-f", "auto", "-A", parts.arch, "-O", "linux", "-T", "kernel"],
      ...["-C", compression, "-d", kernel, "-a", parts.loadAddress],
      ...(parts.dtb ? ["-b", parts.dtb] : []),
      ...(parts.ramdisk ? ["-i", parts.ramdisk] : []),
      fit,
    ],
    "FIT image creation",
    parts.signal,
  );
  return fit;
}
