import { assertEquals, assertRejects, assertStringIncludes, assertThrows } from "../../tests/support/assert.ts";
import {
  generateKeyPair,
  parseCertificate,
  readAllowedKeys,
  writeCertificates,
} from "../../actors/transport/zmq/curve.ts";
import { LabCertificates } from "./certificates.ts";
import { LabRequestError } from "./request_error.ts";

Deno.test("a worker's certificate set through the lab is let in, a secret one is refused, the master's shows no secret", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const master = generateKeyPair();
    const certificates = new LabCertificates({ master: { name: "lab", publicKey: master.publicKey }, workersDir: dir });
    const shown = certificates.master();
    assertEquals(parseCertificate("master", shown).publicKey, master.publicKey);
    assertEquals(parseCertificate("master", shown).secretKey, undefined);

    const worker = generateKeyPair();
    const written = await writeCertificates(`${dir}/made`, "w1", worker);
    await certificates.setWorker("w1", await Deno.readTextFile(written.publicPath));
    assertEquals((await readAllowedKeys(dir)).keys.get(worker.publicKey), "w1");
    assertStringIncludes(await certificates.worker("w1"), worker.publicKey);
    await assertRejects(
      async () => certificates.setWorker("w1", await Deno.readTextFile(written.secretPath)),
      LabRequestError,
      "secret certificate",
    );
    await assertRejects(() => certificates.setWorker("../w2", "x"), LabRequestError);
    await assertRejects(() => certificates.worker("w9"), LabRequestError, "no certificate");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a master without encryption says it has no certificates", () => {
  assertThrows(() => new LabCertificates(undefined).master(), LabRequestError, "--encrypt");
});
