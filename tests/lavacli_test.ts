/**
 * Debian's `lavacli`, unchanged, against `deno task master` and `deno task
 * worker` as real processes: the commands lab users script with — system
 * version, devices update and list, jobs submit, logs (following), show,
 * results — on the real QEMU device, and an admin's changes to devices, tags,
 * aliases, device types and workers, and the rest of lavacli's --help tree
 * that talks to a server (jobs config/definition/list/queue/validate/run/
 * resubmit/cancel/wait, results by suite and case, system api/methods/export/
 * maintenance/active/certificate, tags, device types' templates and health
 * checks, devices' dictionaries, workers' config and env).
 */
import { parse, stringify } from "yaml";
import { LAVA_EXAMPLES, testWithExamples } from "./support/lava_examples.ts";
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { DUT_DIR, inlineTest, qemuJob } from "./support/dut.ts";
import { QEMU_DICTIONARY } from "./support/lab.ts";
import { TestProcess } from "./support/process.ts";

const ROOT = new URL("..", import.meta.url).pathname;

async function run(command: string, args: string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command(command, { args, cwd: ROOT, env, stdin: "null" }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

testWithExamples("Debian's lavacli submits a job, follows its log, shows it and prints its results", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-lavacli-" });
  const data = `${dir}/data`;
  const manage = (...args: string[]) =>
    run(Deno.execPath(), ["run", "-A", "master/manage/main.ts", "--data-dir", data, ...args]);
  let master: TestProcess | undefined;
  let worker: TestProcess | undefined;
  try {
    for (
      const args of [
        ["users", "add", "--superuser", "admin"],
        ["workers", "add", "w1"],
        ["device-types", "add", "qemu"],
        ["devices", "add", "--device-type", "qemu", "--worker", "w1", "qemu01"],
      ]
    ) assertEquals((await manage(...args)).code, 0, args.join(" "));
    const token = (await manage("tokens", "add", "--user", "admin")).stdout.trim().split("\n").at(-1)!;
    await Deno.mkdir(`${data}/lab/devices`, { recursive: true });
    await Deno.writeTextFile(`${data}/lab/devices/qemu01.jinja2`, QEMU_DICTIONARY);
    master = TestProcess.deno("master", "master/main.ts", [
      "--data-dir",
      data,
      "--http",
      "127.0.0.1:0",
      "--zmq",
      "tcp://127.0.0.1:*",
      "--events",
      "tcp://127.0.0.1:*",
      "--heartbeat",
      "200",
      "--log-level",
      "error",
    ]);
    const ready = await master.waitForEvent("ready", 60_000);
    worker = TestProcess.deno("worker", "worker/main.ts", [
      "--name",
      "w1",
      "--master",
      String(ready.zmq),
      "--state-dir",
      `${dir}/w1`,
      "--file-dirs",
      DUT_DIR,
      "--heartbeat",
      "200",
      "--log-level",
      "error",
    ]);
    const uri = `${String(ready.http).replace("http://", `http://admin:${token}@`)}/RPC2`;
    const lavacli = (...args: string[]) =>
      run("lavacli", ["--uri", uri, ...args], {
        XDG_CONFIG_HOME: dir,
        NO_PROXY: "127.0.0.1",
        no_proxy: "127.0.0.1",
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      });

    const version = await lavacli("system", "version");
    assertEquals(version.stdout.trim(), "0.1.0", version.stderr);
    assertEquals((await lavacli("system", "whoami")).stdout.trim(), "admin");
    assertEquals((await lavacli("devices", "update", "qemu01", "--health", "GOOD")).code, 0);
    const devices = await lavacli("devices", "list");
    assertStringIncludes(devices.stdout, "* qemu01 (qemu): Idle,Good");

    const jobFile = `${dir}/job.yaml`;
    await Deno.writeTextFile(
      jobFile,
      stringify(qemuJob({
        name: "lavacli smoke",
        tests: [inlineTest("smoke", ["lava-test-case answer --result pass --measurement 42 --units things"])],
      })),
    );
    const submitted = await lavacli("jobs", "submit", jobFile);
    assertEquals(submitted.code, 0, submitted.stderr);
    const id = submitted.stdout.trim();
    assert(/^\d+$/.test(id), `job id: ${submitted.stdout} ${submitted.stderr}`);

    const logs = await lavacli("jobs", "logs", "--polling", "1", id);
    assertEquals(logs.code, 0, logs.stderr);
    assertStringIncludes(logs.stdout, "Linux version");
    assertStringIncludes(logs.stdout, "LAVA_SIGNAL_TESTCASE TEST_CASE_ID=answer");

    const shown = await lavacli("jobs", "show", id);
    assertStringIncludes(shown.stdout, "state       : Finished");
    assertStringIncludes(shown.stdout, "Health      : Complete");
    assertStringIncludes(shown.stdout, "device      : qemu01");
    const json = await lavacli("jobs", "show", "--json", id);
    assertEquals(JSON.parse(json.stdout).health, "Complete", json.stderr);

    const results = await lavacli("results", id);
    assertStringIncludes(results.stdout, "* 0_smoke.answer [pass]");
    assertStringIncludes(results.stdout, "* lava.job [pass]");

    const invalid = `${dir}/invalid.yaml`;
    await Deno.writeTextFile(invalid, "job_name: no actions\n");
    const refused = await lavacli("jobs", "submit", invalid);
    assertStringIncludes(refused.stdout + refused.stderr, "Unable to submit");

    // The worker has said what its dispatcher runs: a job it could not run is refused, naming the method.
    const docker = `${dir}/docker.yaml`;
    const example = parse(Deno.readTextFileSync(`${LAVA_EXAMPLES}jobs/docker-simple.yaml`)) as Record<string, unknown>;
    await Deno.writeTextFile(docker, stringify({ ...example, device_type: "qemu" }));
    const unrunnable = await lavacli("jobs", "submit", docker);
    assertStringIncludes(unrunnable.stdout + unrunnable.stderr, "Unable to submit");
    assertStringIncludes(unrunnable.stdout + unrunnable.stderr, "boot method docker");

    // An admin's lavacli commands change the running lab.
    const ok = async (...args: string[]) => {
      const result = await lavacli(...args);
      assertEquals(result.code, 0, `lavacli ${args.join(" ")}: ${result.stdout}${result.stderr}`);
      return result.stdout;
    };
    await ok("devices", "update", "qemu01", "--description", "bench board");
    assertEquals(JSON.parse(await ok("devices", "show", "--json", "qemu01")).description, "bench board");
    await ok("devices", "tags", "add", "qemu01", "usb");
    assertStringIncludes(await ok("devices", "tags", "list", "qemu01"), "usb");
    await ok("devices", "tags", "delete", "qemu01", "usb");
    assert(!(await ok("devices", "tags", "list", "qemu01")).includes("usb"));
    await ok("tags", "add", "big-ram", "--description", "4 GiB or more");
    assertStringIncludes(await ok("tags", "show", "big-ram"), "description: 4 GiB or more");
    await ok("tags", "delete", "big-ram");
    await ok("aliases", "add", "vm", "qemu");
    assertStringIncludes(await ok("device-types", "aliases", "list", "qemu"), "vm");
    assertStringIncludes(await ok("aliases", "show", "vm"), "device-type: qemu");
    await ok("device-types", "update", "qemu", "--health-frequency", "12", "--health-denominator", "jobs");
    const type = JSON.parse(await ok("device-types", "show", "--json", "qemu"));
    assertEquals([type.health_frequency, type.health_denominator], [12, "jobs"]);
    await ok("workers", "update", "w1", "--description", "rack 3", "--job-limit", "2");
    await ok("workers", "maintenance", "w1");
    const maintained = JSON.parse(await ok("workers", "show", "--json", "w1"));
    assertEquals([maintained.health, maintained.description, maintained.job_limit], ["Maintenance", "rack 3", 2]);
    await ok("workers", "update", "w1", "--health", "ACTIVE");

    // The rest of lavacli's --help tree that talks to a server, each with LAVA's output shape.
    const out = `${dir}/out`;
    await ok("jobs", "config", id, "--dest", out);
    assertStringIncludes(await Deno.readTextFile(`${out}/definition.yaml`), "lavacli smoke");
    assertStringIncludes(await Deno.readTextFile(`${out}/device.yaml`), "qemu");
    assertStringIncludes(await ok("jobs", "definition", id), "job_name: lavacli smoke");
    assertStringIncludes(await ok("jobs", "list"), `* ${id}: Finished,Complete [admin] (lavacli smoke) - qemu`);
    assertStringIncludes(await ok("jobs", "queue"), "Jobs (from 1 to 25):");
    assertEquals((await lavacli("jobs", "validate", jobFile)).code, 0);
    const ran = await lavacli("jobs", "run", "--polling", "1", jobFile);
    assertEquals(ran.code, 0, ran.stderr);
    assertStringIncludes(ran.stdout, "Linux version");
    const again = (await ok("jobs", "resubmit", id)).trim();
    assert(/^\d+$/.test(again), again);
    await ok("jobs", "cancel", again);
    await ok("jobs", "wait", again, "--polling", "1");
    assertStringIncludes(await ok("jobs", "show", again), "state       : Finished");
    assertStringIncludes(await ok("results", id, "0_smoke"), "* 0_smoke.answer [pass]");
    assertEquals((await ok("results", id, "0_smoke", "answer")).trim(), "pass");

    assertEquals((await ok("system", "api")).trim(), "2");
    assertStringIncludes(await ok("system", "methods", "list"), "scheduler.all_devices");
    assertStringIncludes(await ok("system", "methods", "help", "scheduler.jobs.show"), "a job's details");
    assertStringIncludes(await ok("system", "methods", "signature", "scheduler.jobs.show"), "undef");
    const certificate = await lavacli("system", "certificate");
    assertStringIncludes(certificate.stdout + certificate.stderr, "Fault 404", "a master without --encrypt has none");
    await ok("system", "export", `${dir}/export`);
    assertStringIncludes(await Deno.readTextFile(`${dir}/export/instance.yaml`), "qemu01");
    assertStringIncludes(await Deno.readTextFile(`${dir}/export/devices/qemu01.jinja2`), "qemu.jinja2");
    await ok("system", "maintenance");
    assertEquals(JSON.parse(await ok("workers", "show", "--json", "w1")).health, "Maintenance");
    await ok("system", "active");
    assertEquals(JSON.parse(await ok("workers", "show", "--json", "w1")).health, "Active");

    assertStringIncludes(await ok("aliases", "list"), "* vm");
    await ok("aliases", "delete", "vm");
    await ok("tags", "add", "usb3");
    assertStringIncludes(await ok("tags", "list"), "* usb3");
    assertStringIncludes(await ok("device-types", "list"), "* qemu (1)");
    const template = await ok("device-types", "template", "get", "qemu");
    assertStringIncludes(template, "qemu");
    const healthCheck = `${dir}/health.yaml`;
    await Deno.writeTextFile(healthCheck, await Deno.readTextFile(jobFile));
    await ok("device-types", "health-check", "set", "qemu", healthCheck);
    assertStringIncludes(await ok("device-types", "health-check", "get", "qemu"), "lavacli smoke");
    await ok("device-types", "add", "bbb");
    await ok("devices", "add", "--type", "bbb", "--worker", "w1", "bbb01");
    const dictionary = `${dir}/bbb01.jinja2`;
    await Deno.writeTextFile(dictionary, "{% extends 'qemu.jinja2' %}\n{% set memory = 128 %}\n");
    await ok("devices", "dict", "set", "bbb01", dictionary);
    assertStringIncludes(await ok("devices", "dict", "get", "bbb01"), "memory = 128");
    assertStringIncludes(await ok("devices", "dict", "get", "--render", "bbb01"), "128");
    assertStringIncludes(await ok("devices", "show", "bbb01"), "device-type : bbb");
    await ok("workers", "add", "w2", "--description", "spare");
    assertStringIncludes(await ok("workers", "list"), "* w2");
    const config = `${dir}/dispatcher.yaml`;
    await Deno.writeTextFile(config, "dispatcher_ip: 127.0.0.1\n");
    await ok("workers", "config", "set", "w2", config);
    assertStringIncludes(await ok("workers", "config", "get", "w2"), "dispatcher_ip: 127.0.0.1");
    const env = `${dir}/env.yaml`;
    await Deno.writeTextFile(env, "overrides:\n  LC_ALL: C.UTF-8\n");
    await ok("workers", "env", "set", "w2", env);
    assertStringIncludes(await ok("workers", "env", "get", "w2"), "LC_ALL");

    const missing = await lavacli("jobs", "show", "999999");
    assertEquals(missing.code, 1);
    assertStringIncludes(missing.stdout + missing.stderr, "Fault 404");
  } finally {
    await worker?.stop();
    await master?.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
