import { assert, assertEquals, assertRejects, assertThrows } from "../../../tests/support/assert.ts";
import {
  CertificateError,
  generateKeyPair,
  parseCertificate,
  readAllowedKeys,
  readKeyPair,
  writeCertificates,
  z85Decode,
  z85Encode,
} from "./curve.ts";
import { Option, SocketType } from "./ffi.ts";
import { ZmqReactor } from "./reactor.ts";
import { serveZap } from "./zap.ts";

Deno.test("a key pair round-trips through Z85 and through certificate files", async () => {
  const pair = generateKeyPair();
  assertEquals(pair.publicKey.length, 40);
  assertEquals(z85Encode(z85Decode(pair.publicKey) as Uint8Array<ArrayBuffer>), pair.publicKey);
  const dir = await Deno.makeTempDir();
  try {
    const paths = await writeCertificates(dir, "worker-1", pair);
    assertEquals(await readKeyPair(paths.secretPath), pair);
    assertEquals((await Deno.stat(paths.secretPath)).mode! & 0o777, 0o600);
    const publicOnly = parseCertificate(paths.publicPath, await Deno.readTextFile(paths.publicPath));
    assertEquals([publicOnly.publicKey, publicOnly.secretKey], [pair.publicKey, undefined]);
    await assertRejects(() => readKeyPair(paths.publicPath), CertificateError, "public certificate");
    await assertRejects(() => writeCertificates(dir, "worker-1", generateKeyPair()), Error, "already exists");
    const allowed = await readAllowedKeys(dir);
    assertEquals([...allowed.keys.entries()], [[pair.publicKey, "worker-1"]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a certificate without a usable key names the file", () => {
  assertThrows(
    () => parseCertificate("/etc/x.key", "metadata\ncurve\n"),
    CertificateError,
    "/etc/x.key: no curve public-key",
  );
  assertThrows(() => parseCertificate("x.key", 'curve\n    public-key = "short"\n'), CertificateError, "Z85");
});

Deno.test("certificates are interchangeable with pyzmq's (LAVA's create_certificate.py)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `
import sys, zmq.auth
pub, sec = zmq.auth.create_certificates(sys.argv[1], "lava-made")
p, s = zmq.auth.load_certificate(sys.argv[1] + "/basalt-made.key_secret")
print(p.decode(), s.decode())`;
    const ours = generateKeyPair();
    await writeCertificates(dir, "basalt-made", ours);
    const run = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", script, dir],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    assert(run.success, new TextDecoder().decode(run.stderr));
    assertEquals(new TextDecoder().decode(run.stdout).trim(), `${ours.publicKey} ${ours.secretKey}`);
    const theirs = await readKeyPair(`${dir}/lava-made.key_secret`);
    assertEquals(theirs.publicKey.length, 40);
    assertEquals((await readAllowedKeys(dir)).keys.get(theirs.publicKey), "lava-made");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a CurveZMQ server hears allowed clients under their name and never a client with a wrong key", async () => {
  const reactor = new ZmqReactor();
  try {
    const server = generateKeyPair();
    const allowed = generateKeyPair();
    const stranger = generateKeyPair();
    await serveZap(reactor, (request) => ({
      userId: request.publicKey === allowed.publicKey ? "worker-1" : undefined,
    }));
    const received: { body: string; userId: string | undefined }[] = [];
    let endpoint = "";
    await reactor.socket(SocketType.ROUTER, (s) => {
      s.setInt(Option.CURVE_SERVER, 1);
      s.setString(Option.CURVE_SECRETKEY, server.secretKey);
      s.setString(Option.ZAP_DOMAIN, "basalt");
      endpoint = s.bind("tcp://127.0.0.1:*");
    }, (m) => received.push({ body: new TextDecoder().decode(m.frames[1]), userId: m.userId }));
    const client = (pair: typeof allowed, name: string) =>
      reactor.socket(SocketType.DEALER, (s) => {
        s.setString(Option.CURVE_SERVERKEY, server.publicKey);
        s.setString(Option.CURVE_PUBLICKEY, pair.publicKey);
        s.setString(Option.CURVE_SECRETKEY, pair.secretKey);
        s.setString(Option.ROUTING_ID, name);
        s.connect(endpoint);
      });
    const bad = await client(stranger, "intruder");
    const good = await client(allowed, "worker-1");
    for (let i = 0; i < 20; i++) {
      bad.send([new TextEncoder().encode(`forged ${i}`)]);
      good.send([new TextEncoder().encode(`hello ${i}`)]);
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 200));
    assertEquals(received.filter((m) => m.body.startsWith("forged")), []);
    assertEquals(received.length, 20);
    assertEquals([...new Set(received.map((m) => m.userId))], ["worker-1"]);
  } finally {
    await reactor.close();
  }
});
