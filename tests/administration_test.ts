/**
 * Running a shared lab, against a real master (in this process, on PGlite) and
 * a worker that exists only as its messages: group permissions decide who may
 * submit to a device type and who sees a group job; an alias resolves at
 * submission; tags move jobs; an admin force-fails a running job and removes a
 * worker; ordinary users calling admin methods get LAVA's permission faults;
 * and a retention purge of 10,000 old jobs with their logs, while jobs are
 * submitted and run, leaves no orphan row and holds no job up. Every change
 * made is in the admin record.
 */
import { stringify } from "yaml";
import { JobHealth, JobState } from "../actors/domain/states.ts";
import { createLogger } from "../actors/runtime/log.ts";
import { addLabGroup } from "../master/lab/admin/people.ts";
import { Retention } from "../master/lab/retention.ts";
import type { RunningMaster } from "../master/master.ts";
import { parseMethodResponse, serializeMethodCall, type XmlRpcInput } from "../master/http/xmlrpc.ts";
import { sql } from "kysely";
import { changesOf } from "../master/storage/admin_changes.ts";
import { addUser, issueToken } from "../master/storage/users.ts";
import { qemuJob } from "./support/dut.ts";
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { startFakeWorker } from "./support/fake_worker.ts";
import { QEMU_DICTIONARY, startQuietMaster } from "./support/lab.ts";
import { eventually } from "./support/wait.ts";

interface Caller {
  readonly name: string;
  readonly token: string;
}

type Answer = { value: unknown } | { fault: { code: number; message: string } };

async function rpc(master: RunningMaster, caller: Caller, method: string, ...params: XmlRpcInput[]): Promise<Answer> {
  const response = await fetch(`${master.url}/RPC2`, {
    method: "POST",
    headers: { "Content-Type": "text/xml", Authorization: `Basic ${btoa(`${caller.name}:${caller.token}`)}` },
    body: serializeMethodCall(method, params),
  });
  const parsed = parseMethodResponse(await response.text());
  return parsed.kind === "fault" ? { fault: { code: parsed.code, message: parsed.message } } : { value: parsed.value };
}

async function ok(master: RunningMaster, caller: Caller, method: string, ...params: XmlRpcInput[]) {
  const answer = await rpc(master, caller, method, ...params);
  if ("fault" in answer) throw new Error(`${caller.name}: ${method}: fault ${JSON.stringify(answer.fault)}`);
  return answer.value;
}

async function fault(master: RunningMaster, caller: Caller, method: string, ...params: XmlRpcInput[]) {
  const answer = await rpc(master, caller, method, ...params);
  if (!("fault" in answer)) throw new Error(`${caller.name}: ${method} answered ${JSON.stringify(answer.value)}`);
  return answer.fault;
}

function job(name: string, extra: Record<string, unknown> = {}): string {
  return stringify({ ...qemuJob({ name }), ...extra });
}

Deno.test("a shared lab: permissions, aliases, tags, force-fail, worker removal and a purge while jobs run", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-admin-" });
  const master = await startQuietMaster({ kind: "pglite", dataDir: `${dir}/data` }, dir);
  const worker = await startFakeWorker("w1", master.zmq, `${dir}/w1`);
  const { db } = master.storage;
  const callers: Record<string, Caller> = {};
  for (const name of ["admin", "alice", "bob", "carol"]) {
    await addUser(db, { username: name, superuser: name === "admin", email: `${name}@lab.example` });
    callers[name] = { name, token: (await issueToken(db, name)).token };
  }
  const { admin, alice, bob, carol } = callers;
  const state = async (id: string) =>
    await db.selectFrom("test_jobs").select(["state", "health", "actual_device", "requested_device_type"])
      .where("id", "=", Number(id)).executeTakeFirstOrThrow();
  try {
    // w1 registered itself when it connected, as LAVA's workers do.
    await ok(master, admin, "scheduler.workers.update", "w1", "the test's worker", null, null);
    await ok(master, admin, "scheduler.device_types.add", "qemu", null, true, false, 24, "hours");
    for (const hostname of ["qemu01", "qemu02"]) {
      await ok(master, admin, "scheduler.devices.add", hostname, "qemu", "w1", null, null, true, "GOOD", null);
      await ok(master, admin, "scheduler.devices.set_dictionary", hostname, QEMU_DICTIONARY);
    }
    const adminUser = { id: 0, username: "admin", is_superuser: true };
    await addLabGroup(master.lab, adminUser, "team", ["alice"]);
    await ok(master, admin, "system.set_user_groups", "carol@lab.example", ["team", "no-such-group"]);

    await t.step("ordinary users calling admin methods get LAVA's permission faults", async () => {
      const denied = await fault(master, bob, "scheduler.aliases.add", "vm", "qemu");
      assertEquals(denied.code, 403);
      assertStringIncludes(denied.message, "User 'bob' is missing permission lava_scheduler_app.add_alias");
      assertEquals((await fault(master, bob, "scheduler.workers.update", "w1", "mine", null, null)).code, 403);
      assertEquals(
        (await fault(master, bob, "scheduler.devices.update", "qemu01", null, null, null, null, "BAD")).code,
        403,
      );
      assertEquals(
        (await fault(master, bob, "system.assign_perm_device_type", "submit_to_devicetype", "qemu", "team")).code,
        403,
      );
      assertEquals((await fault(master, bob, "system.user_can_submit_to_types", ["qemu"], "alice")).code, 401);
    });

    await t.step(
      "a user without submit permission on a device type is refused, a member of the granted group is not",
      async () => {
        await ok(master, admin, "system.assign_perm_device_type", "submit_to_devicetype", "qemu", "team");
        assertEquals(await ok(master, bob, "system.user_can_submit_to_types", ["qemu", "nothing"]), { qemu: false });
        assertEquals(await ok(master, admin, "system.user_can_submit_to_types", ["qemu"], "carol"), { qemu: true });
        const refused = await fault(master, bob, "scheduler.jobs.submit", job("bob's"));
        assertEquals(refused.code, 400);
        assertStringIncludes(refused.message, "no device of type qemu takes jobs from user bob");
        const id = String(await ok(master, alice, "scheduler.jobs.submit", job("alice's")));
        assertEquals((await worker.take(1))[0], id);
        worker.run(id, [[]]);
        await eventually("alice's job to finish", async () => (await state(id)).state === JobState.byName.Finished);
        await ok(master, admin, "system.revoke_perm_device_type", "submit_to_devicetype", "qemu", "team");
        assertEquals(await ok(master, bob, "system.user_can_submit_to_types", ["qemu"]), { qemu: true });
        const unknownGroup = await fault(
          master,
          admin,
          "system.assign_perm_device_type",
          "view_devicetype",
          "qemu",
          "x",
        );
        assertEquals([unknownGroup.code, unknownGroup.message], [400, "please use existing group name"]);
      },
    );

    await t.step("a group job is seen by its group only", async () => {
      const id = String(
        await ok(master, alice, "scheduler.jobs.submit", job("team's", { visibility: { group: ["team"] } })),
      );
      assertEquals(await ok(master, carol, "system.user_can_view_jobs", [Number(id)]), { [id]: true });
      assertEquals(await ok(master, bob, "system.user_can_view_jobs", [Number(id)]), { [id]: false });
      assertEquals((await fault(master, bob, "scheduler.jobs.show", id)).code, 404);
      await ok(master, carol, "scheduler.jobs.show", id);
      assertEquals((await worker.take(1))[0], id);
      worker.run(id, [[]]);
      await eventually("the group job to finish", async () => (await state(id)).state === JobState.byName.Finished);
    });

    await t.step("an alias resolves at submission", async () => {
      await ok(master, admin, "scheduler.aliases.add", "vm", "qemu");
      assertEquals(await ok(master, bob, "scheduler.aliases.show", "vm"), { name: "vm", device_type: "qemu" });
      const id = String(await ok(master, bob, "scheduler.jobs.submit", job("aliased", { device_type: "vm" })));
      assertEquals((await state(id)).requested_device_type, "qemu");
      assertEquals((await worker.take(1))[0], id);
      worker.run(id, [[]]);
      await eventually("the aliased job to finish", async () => (await state(id)).state === JobState.byName.Finished);
      await ok(master, admin, "scheduler.aliases.delete", "vm");
      assertStringIncludes(
        (await fault(master, bob, "scheduler.jobs.submit", job("gone", { device_type: "vm" }))).message,
        "vm does not exist",
      );
    });

    await t.step("a tag added to a device draws the jobs that ask for it; removed, it refuses them", async () => {
      await ok(master, admin, "scheduler.devices.tags.add", "qemu02", "fast");
      const id = String(await ok(master, bob, "scheduler.jobs.submit", job("tagged", { tags: ["fast"] })));
      assertEquals((await worker.take(1))[0], id);
      assertEquals((await state(id)).actual_device, "qemu02");
      worker.run(id, [[]]);
      await eventually("the tagged job to finish", async () => (await state(id)).state === JobState.byName.Finished);
      await ok(master, admin, "scheduler.tags.delete", "fast");
      assertEquals(await ok(master, bob, "scheduler.devices.tags.list", "qemu02"), []);
      assertEquals((await fault(master, bob, "scheduler.jobs.submit", job("tagged", { tags: ["fast"] }))).code, 400);
    });

    await t.step(
      "an admin force-fails a running job: it ends Incomplete, its worker is told, its device re-checked",
      async () => {
        const id = String(await ok(master, bob, "scheduler.jobs.submit", job("stuck")));
        const [started] = await worker.take(1);
        assertEquals(started, id);
        worker.start(id);
        await eventually("the job to run", async () => (await state(id)).state === JobState.byName.Running);
        const device = (await state(id)).actual_device!;
        const refused = await fetch(`${master.url}/api/v1/jobs/${id}/fail`, {
          method: "POST",
          headers: { Authorization: `Token ${bob.token}`, "Content-Type": "application/json" },
          body: "{}",
        });
        assertEquals(refused.status, 403, await refused.text());
        const failed = await fetch(`${master.url}/api/v1/jobs/${id}/fail`, {
          method: "POST",
          headers: { Authorization: `Token ${admin.token}`, "Content-Type": "application/json" },
          body: JSON.stringify({ reason: "its board hangs" }),
        });
        assertEquals(failed.status, 200, await failed.text());
        await eventually("the job to end", async () => (await state(id)).state === JobState.byName.Finished);
        assertEquals((await state(id)).health, JobHealth.byName.Incomplete);
        await eventually("the worker to be told", () => worker.cancels.includes(id));
        assertEquals(master.lab.deviceStatus(device)?.health, "Unknown");
        const shown = await ok(master, admin, "scheduler.jobs.show", id) as Record<string, unknown>;
        assertStringIncludes(String(shown.failure_comment ?? JSON.stringify(shown)), "its board hangs");
      },
    );

    await t.step("a worker is removed once it has no device left but retired ones", async () => {
      await ok(master, admin, "scheduler.workers.add", "w9", null, false);
      await ok(master, admin, "scheduler.devices.add", "spare01", "qemu", "w9", null, null, true, "GOOD", null);
      const kept = await fault(master, admin, "scheduler.workers.delete", "w9");
      assertEquals(kept.code, 400);
      assertStringIncludes(kept.message, "spare01");
      await ok(master, admin, "scheduler.devices.update", "spare01", null, null, null, null, "RETIRED", null);
      await ok(master, admin, "scheduler.workers.delete", "w9");
      assert(!(await ok(master, admin, "scheduler.workers.list") as string[]).includes("w9"));
      assertEquals(
        (await db.selectFrom("devices").select("worker_hostname").where("hostname", "=", "spare01")
          .executeTakeFirstOrThrow()).worker_hostname,
        null,
      );
    });

    await t.step("every change is in the admin record with who made it", async () => {
      const device = await changesOf(db, { kind: "device", name: "qemu02" });
      assert(device.some((c) => c.username === "admin" && c.summary === "tag fast added"), JSON.stringify(device));
      const type = await changesOf(db, { kind: "device-type", name: "qemu" });
      assert(type.some((c) => c.summary === "submit granted to group team"), JSON.stringify(type));
      assert((await changesOf(db, { kind: "worker", name: "w9" })).some((c) => c.summary === "removed"));
    });

    await t.step(
      "purging 10,000 old jobs with their logs while jobs run leaves no orphan and holds no job up",
      async () => {
        const OLD = 10_000;
        const submitter = (await db.selectFrom("users").select("id").where("username", "=", "bob")
          .executeTakeFirstOrThrow()).id;
        // Old jobs straight into the tables, as years of a lab's work would have left them.
        await sql`INSERT INTO test_jobs (definition, submitter_id, requested_device_type, state, health, end_time)
        SELECT 'job_name: old', ${submitter}, 'qemu', ${JobState.byName.Finished}, ${JobHealth.byName.Complete},
               now() - interval '400 days'
        FROM generate_series(1, ${OLD})`.execute(db);
        await sql`INSERT INTO job_log_lines (job_id, line, dt, level, message)
        SELECT j.id, l, now(), 'target', '"old line"'
        FROM test_jobs j CROSS JOIN generate_series(0, 19) AS l WHERE j.definition = 'job_name: old'`.execute(db);
        const batchesAt: number[] = [];
        const purge = new Retention({
          db,
          logger: createLogger({ process: "master", level: "error", write: () => {} }),
          keepDays: 365,
          onBatch: () => batchesAt.push(performance.now()),
        });
        let firstJobDone = Infinity;
        const running = purge.run();
        // Jobs submitted and run while the purge works through its batches.
        for (let i = 0; i < 3; i++) {
          const id = String(await ok(master, bob, "scheduler.jobs.submit", job(`during purge ${i}`)));
          assertEquals((await worker.take(1))[0], id);
          worker.run(id, [[{ dt: new Date().toISOString(), lvl: "target", msg: `line of ${id}` }]]);
          await eventually(`job ${id} to finish`, async () => (await state(id)).state === JobState.byName.Finished);
          firstJobDone = Math.min(firstJobDone, performance.now());
        }
        assertEquals(await running, OLD);
        assert(batchesAt.some((at) => at > firstJobDone), "the jobs ran while the purge was still going");
        const left = await sql<{ jobs: number; lines: number; orphans: number }>`SELECT
        (SELECT count(*)::int FROM test_jobs WHERE definition = 'job_name: old') AS jobs,
        (SELECT count(*)::int FROM job_log_lines WHERE message = '"old line"') AS lines,
        (SELECT count(*)::int FROM job_log_lines l WHERE NOT EXISTS (SELECT 1 FROM test_jobs j WHERE j.id = l.job_id))
          AS orphans`.execute(db);
        assertEquals(left.rows[0], { jobs: 0, lines: 0, orphans: 0 });
        await purge.close();
      },
    );
  } finally {
    await worker.close();
    await master.close();
    await Deno.remove(dir, { recursive: true });
  }
});
