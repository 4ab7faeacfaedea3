import { assertEquals, assertThrows } from "../../../tests/support/assert.ts";
import { pcDevice, pipelineOf, rows, templateDevice } from "../../../tests/support/pipelines.ts";
import { ConfigurationError } from "../../job/errors.ts";
import { sshCommonArguments, sshResource } from "../../resources/ssh.ts";

const SSH_JOB = {
  device_type: "ssh",
  job_name: "ssh-deploy",
  timeouts: { job: { minutes: 30 }, action: { minutes: 2 } },
  actions: [
    { deploy: { to: "ssh", os: "debian" } },
    { boot: { method: "ssh", connection: "ssh", prompts: ["root@debian:"] } },
    { test: { timeout: { minutes: 3 }, definitions: [] } },
  ],
};

const device = (lines: string[] = ["{% set ssh_host = '10.0.0.7' %}"]) => templateDevice("ssh", "server-01", lines);

Deno.test("an ssh job's deploy and boot are LAVA's scp-overlay and login-ssh (its pipeline_refs/ssh-deploy.yaml)", () => {
  const all = rows(pipelineOf(SSH_JOB, device()).actions).map(([name, level]) => [name, level]);
  const byLevel = (prefix: string) => all.filter(([, level]) => level === prefix || level.startsWith(`${prefix}.`));
  assertEquals(byLevel("1").filter(([, level]) => level.split(".").length <= 2), [
    ["scp-overlay", "1"],
    ["lava-overlay", "1.1"],
    ["prepare-scp-overlay", "1.2"],
    ["deploy-device-env", "1.3"],
  ]);
  assertEquals(byLevel("1.2"), [["prepare-scp-overlay", "1.2"], ["extract-rootfs", "1.2.1"], [
    "extract-modules",
    "1.2.2",
  ]]);
  assertEquals(byLevel("2"), [
    ["login-ssh", "2"],
    ["scp-deploy", "2.1"],
    ["prepare-ssh", "2.2"],
    ["ssh-connection", "2.3"],
    ["auto-login-action", "2.4"],
    ["login-action", "2.4.1"],
    ["expect-shell-connection", "2.5"],
    ["export-device-env", "2.6"],
    ["scp-overlay-unpack", "2.7"],
  ]);
});

Deno.test("the ssh template gives ssh and scp LAVA's options, the host, port, user and key", () => {
  const ssh = sshResource(device([
    "{% set ssh_host = '10.0.0.7' %}",
    "{% set ssh_port = 2222 %}",
    "{% set ssh_user = 'lava' %}",
    "{% set ssh_identity_file = '/etc/basalt/id_ed25519' %}",
  ]));
  assertEquals([ssh.host, ssh.port, ssh.user, ssh.identityFile], ["10.0.0.7", 2222, "lava", "/etc/basalt/id_ed25519"]);
  assertEquals(sshCommonArguments(ssh), [
    ...["-o", "Compression=yes", "-o", "PasswordAuthentication=no", "-o", "LogLevel=FATAL"],
    ...["-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "BatchMode=yes"],
    ...["-i", "/etc/basalt/id_ed25519"],
  ]);
  assertEquals(sshResource(device()).identityFile, undefined);
});

Deno.test("an ssh host, port, user or key that could be taken for something else is refused, naming the field", () => {
  const cases: [string, string][] = [
    ["{% set ssh_host = '-oProxyCommand=touch /tmp/x' %}", "actions.deploy.methods.ssh.host"],
    ["{% set ssh_host = 'a b' %}", "actions.deploy.methods.ssh.host"],
    ["{% set ssh_host = '[::1]' %}", "actions.deploy.methods.ssh.host"],
    ["{% set ssh_port = '22; reboot' %}", "Port was set but was not a digit"],
    ["{% set ssh_port = 70000 %}", "Port was set but was not a digit"],
    ["{% set ssh_user = '-l' %}", "actions.deploy.methods.ssh.user"],
    ["{% set ssh_identity_file = 'dynamic_vm_keys/lava' %}", "must be an absolute path"],
  ];
  for (const [line, message] of cases) {
    assertThrows(() => sshResource(device([line])), ConfigurationError, message);
  }
  assertThrows(
    () => sshResource(pcDevice("x86", "pc-01", "08", 8003)),
    ConfigurationError,
    "no suitable deploy method",
  );
});
