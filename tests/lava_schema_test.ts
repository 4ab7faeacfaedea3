/**
 * Job definitions judged as LAVA 2023.01 judges them: every example job of Debian's
 * `lava-server-doc` 2023.01, every job in ../shared/lava-examples, and variants of
 * the rules where LAVA's schema is subtle, given to LAVA's own validator (from the
 * unpacked `lava-common` package, run by Python) and to Basalt's: the verdicts must
 * be the same. Definitions LAVA accepted and Basalt refuses at submission (LXC)
 * must say so without being invalid.
 */
import { join } from "../actors/path.ts";
import { stringify } from "yaml";
import { validateJob } from "../actors/definitions/job_schema.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { exampleFiles, lavaReference, testWithExamples } from "./support/lava_examples.ts";

const SCHEMA_SCRIPT = new URL("./support/lava_schema.py", import.meta.url).pathname;

async function lavaVerdicts(texts: readonly string[]): Promise<[boolean, string][]> {
  const python = new Deno.Command("python3", {
    args: [SCHEMA_SCRIPT, lavaReference("usr/lib/python3/dist-packages")],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = python.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(texts)));
  await writer.close();
  const output = await python.output();
  if (!output.success) throw new Error(`LAVA's validator failed: ${new TextDecoder().decode(output.stderr)}`);
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

/** A tmpfs image with the given `format` and overlays, as kvm-overlays-style jobs write them. */
function tmpfsJob(format: string | undefined, overlays: boolean): string {
  const image: Record<string, unknown> = { url: "http://example.com/rootfs.img", image_arg: "-drive file={rootfs}" };
  if (format) image.format = format;
  if (overlays) image.overlays = { lava: true };
  return stringify({
    job_name: `tmpfs ${format} ${overlays}`,
    device_type: "qemu",
    visibility: "public",
    priority: "medium",
    timeouts: { job: { minutes: 5 } },
    actions: [
      { deploy: { to: "tmpfs", images: { rootfs: image } } },
      { boot: { method: "qemu", media: "tmpfs", prompts: ["# "] } },
    ],
  });
}

testWithExamples("every example job is valid or invalid for Basalt exactly as for LAVA 2023.01", async () => {
  const docJobs = lavaReference("usr/share/doc/lava-server-doc/html/v2/examples/test-jobs");
  const cases: [string, string][] = [
    ...[...Deno.readDirSync(docJobs)].filter((e) => e.name.endsWith(".yaml")).map((e) => e.name).sort()
      .map((name): [string, string] => [`lava-server-doc ${name}`, Deno.readTextFileSync(join(docJobs, name))]),
    ...["jobs", "jobs-invalid", "jobs-invalid-derived"].flatMap((folder) =>
      exampleFiles(folder).map(([name, , text]): [string, string] => [`${folder}/${name}`, text])
    ),
    ...[undefined, "qcow2", "ext4", "tar", "cpio.newc", "iso"].flatMap((format) =>
      [true, false].map((overlays): [string, string] => [
        `tmpfs format ${format} overlays ${overlays}`,
        tmpfsJob(format, overlays),
      ])
    ),
  ];
  const verdicts = await lavaVerdicts(cases.map(([, text]) => text));
  const differences: string[] = [];
  cases.forEach(([name, text], i) => {
    const ours = validateJob(text, { file: name });
    const [lavaValid, lavaMessage] = verdicts[i];
    if (ours.valid !== lavaValid) {
      differences.push(
        `${name}: LAVA ${lavaValid ? "valid" : `invalid (${lavaMessage})`}, Basalt ${
          ours.valid ? "valid" : `invalid (${ours.errors[0]?.message})`
        }`,
      );
    }
  });
  console.log(`${cases.length - differences.length} of ${cases.length} job definitions judged as LAVA 2023.01 does`);
  assert(cases.length > 60, `only ${cases.length} cases`);
  assertEquals(differences, []);
});

Deno.test("LXC jobs are valid definitions, as in LAVA 2023.01, and are refused at submission with the reason", () => {
  const path = lavaReference("usr/share/doc/lava-server-doc/html/v2/examples/test-jobs/lxc-debian.yaml");
  const result = validateJob(Deno.readTextFileSync(path), { file: "lxc-debian.yaml" });
  assert(result.valid, JSON.stringify(result.errors));
  assertEquals(result.refusals.map((r) => r.path), [
    "protocols.lava-lxc",
    "actions[0].deploy.to",
    "actions[1].boot.method",
  ]);
  assert(result.refusals.every((r) => r.message.includes("docker")), result.refusals[0]?.message);
});
