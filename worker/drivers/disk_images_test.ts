import { assertRejects } from "../../tests/support/assert.ts";
import { checkSelfContainedImage } from "./disk_images.ts";
import { JobError } from "../job/errors.ts";

function qcow2(backingOffset: bigint, version = 3, incompatible = 0n): Uint8Array {
  const header = new Uint8Array(512);
  const view = new DataView(header.buffer);
  view.setUint32(0, 0x514649fb);
  view.setUint32(4, version);
  view.setBigUint64(8, backingOffset);
  view.setBigUint64(72, incompatible);
  return header;
}

Deno.test("images that make QEMU open other files are refused; raw and plain qcow2 are not", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files: Record<string, Uint8Array> = {
      raw: new TextEncoder().encode("just bytes"),
      qcow2: qcow2(0n),
      backed: qcow2(512n),
      external: qcow2(0n, 3, 4n),
      vmdk: new TextEncoder().encode('# Disk DescriptorFile\nRW 8 FLAT "/etc/shadow" 0\n'),
    };
    for (const [name, bytes] of Object.entries(files)) await Deno.writeFile(`${dir}/${name}`, bytes);
    await checkSelfContainedImage(`${dir}/raw`, "t");
    await checkSelfContainedImage(`${dir}/qcow2`, "t");
    for (const name of ["backed", "external", "vmdk"]) {
      await assertRejects(() => checkSelfContainedImage(`${dir}/${name}`, "images.disk"), JobError, "images.disk: ");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
