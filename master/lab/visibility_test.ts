import { parse } from "yaml";
import { JobVisibility } from "../../actors/domain/states.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { openStorage } from "../storage/database.ts";
import {
  AccessRules,
  grantsOf,
  type JobFacts,
  loadJobFacts,
  MASKED,
  maskSecrets,
  type Rights,
  secretNames,
} from "./visibility.ts";

const PUBLIC = JobVisibility.byName.public;
const PERSONAL = JobVisibility.byName.personal;
const GROUP = JobVisibility.byName.group;

function rights(userId: number | null, groups: number[] = [], superuser = false): Rights {
  return { userId, superuser, groups: new Set(groups) };
}

function job(facts: Partial<JobFacts>): JobFacts {
  return { id: 1, visibility: PUBLIC, submitterId: 1, viewingGroups: [], device: null, deviceType: "qemu", ...facts };
}

const RULES = new AccessRules(
  new Map([
    ["open", { deviceType: "qemu", grants: grantsOf([]) }],
    ["private", { deviceType: "qemu", grants: grantsOf([], true) }],
    ["for-g1", { deviceType: "qemu", grants: grantsOf([{ group_id: 1, permission: "view" }]) }],
    ["submit-g2", { deviceType: "closed", grants: grantsOf([{ group_id: 2, permission: "submit" }]) }],
    ["on-closed", { deviceType: "closed", grants: grantsOf([]) }],
    ["change-g4", { deviceType: "qemu", grants: grantsOf([{ group_id: 4, permission: "change" }]) }],
  ]),
  new Map([
    ["closed", grantsOf([{ group_id: 3, permission: "view" }])],
    ["qemu", grantsOf([{ group_id: 5, permission: "change" }])],
    ["members", grantsOf([{ group_id: 6, permission: "submit" }])],
  ]),
  new Map(),
);

Deno.test("a restricted device is seen by administrators and by groups granted any permission on it", () => {
  assert(RULES.canViewDevice(rights(null), "open"));
  assert(!RULES.canViewDevice(rights(7), "private"));
  assert(RULES.canViewDevice(rights(7, [], true), "private"));
  assert(!RULES.canViewDevice(rights(7, [2]), "for-g1"));
  assert(RULES.canViewDevice(rights(7, [1]), "for-g1"));
});

Deno.test("an unrestricted device is seen by whoever may see its type, or holds a permission on it", () => {
  assert(!RULES.canViewDevice(rights(7), "on-closed"));
  assert(RULES.canViewDevice(rights(7, [3]), "on-closed"));
  assert(RULES.canViewDevice(rights(7, [2]), "submit-g2"));
  assert(!RULES.canViewDevice(rights(null), "submit-g2"));
});

Deno.test("a device the rules do not know is seen by administrators only", () => {
  assert(!RULES.canViewDevice(rights(7), "new01"));
  assert(RULES.canViewDevice(rights(7, [], true), "new01"));
});

Deno.test("a device type restricted for submission takes jobs only from its holders; open ones from any login", () => {
  assert(!RULES.canSubmitToDeviceType(rights(null), "qemu"), "anonymous submits nowhere");
  assert(RULES.canSubmitToDeviceType(rights(7), "qemu"));
  assert(!RULES.canSubmitToDeviceType(rights(7), "members"));
  assert(RULES.canSubmitToDeviceType(rights(7, [6]), "members"));
  assert(RULES.canSubmitToDeviceType(rights(7, [], true), "members"));
});

Deno.test("a device restricted for submission takes its holders' jobs; others follow their type", () => {
  assert(!RULES.canSubmitToDevice(rights(7), "submit-g2"));
  assert(RULES.canSubmitToDevice(rights(7, [2]), "submit-g2"));
  assert(RULES.canSubmitToDevice(rights(7), "open"));
  assert(RULES.canSubmitToDevice(rights(7, [4]), "change-g4"), "change implies submit");
  assert(!RULES.canSubmitToDevice(rights(7), "private"), "a private device takes no one's jobs but its groups'");
  assert(!RULES.canSubmitToDevice(rights(7), "new01"));
});

Deno.test("change on a device comes from the device, or from its type where the device grants it to no one", () => {
  assert(!RULES.canChangeDevice(rights(7), "open"));
  assert(RULES.canChangeDevice(rights(7, [5]), "open"), "change on the type qemu");
  assert(!RULES.canChangeDevice(rights(7, [5]), "change-g4"), "the device's own grant overrides its type's");
  assert(RULES.canChangeDevice(rights(7, [4]), "change-g4"));
  assert(RULES.canChangeDeviceType(rights(7, [5]), "qemu") && !RULES.canChangeDeviceType(rights(7, [4]), "qemu"));
});

Deno.test("a group job is seen only by users in every one of its groups, and an empty group by nobody else", () => {
  const both = job({ visibility: GROUP, viewingGroups: [1, 2] });
  assert(!RULES.canViewJob(rights(7, [1]), both));
  assert(RULES.canViewJob(rights(7, [1, 2]), both));
  assert(!RULES.canViewJob(rights(7, [1, 2]), job({ visibility: GROUP, viewingGroups: [] })));
  assert(RULES.canViewJob(rights(1), job({ visibility: GROUP, viewingGroups: [] })));
});

Deno.test("a public job is seen by whoever may see its device, or its device type while it has none", () => {
  assert(RULES.canViewJob(rights(null), job({ device: "open" })));
  assert(!RULES.canViewJob(rights(null), job({ device: "private" })));
  assert(RULES.canViewJob(rights(1), job({ device: "private" })), "its submitter sees it");
  assert(!RULES.canViewJob(rights(7), job({ deviceType: "closed" })));
  assert(RULES.canViewJob(rights(7, [3]), job({ deviceType: "closed" })));
  assert(!RULES.canViewJob(rights(7), job({ visibility: PERSONAL })));
  assert(!RULES.canViewJob(rights(7), undefined));
});

Deno.test("the database's job filter decides as canViewJob does", async () => {
  const dir = await Deno.makeTempDir({ prefix: "basalt-visibility-" });
  const storage = await openStorage({ kind: "pglite", dataDir: dir });
  try {
    const db = storage.db;
    const users = await db.insertInto("users").values(["u1", "u2", "u3", "root"].map((username) => ({
      username,
      password_hash: null,
      is_superuser: username === "root",
    }))).returning(["id", "username", "is_superuser"]).execute();
    const groups = await db.insertInto("groups").values([{ name: "g1" }, { name: "g2" }]).returning("id").execute();
    const [g1, g2] = groups.map((g) => g.id);
    await db.insertInto("user_groups").values([
      { user_id: users[1].id, group_id: g1 },
      { user_id: users[2].id, group_id: g1 },
      { user_id: users[2].id, group_id: g2 },
    ]).execute();
    await db.insertInto("device_types").values([{ name: "qemu" }, { name: "closed" }]).execute();
    await db.insertInto("device_type_group_permissions").values({
      device_type: "closed",
      group_id: g2,
      permission: "view",
    })
      .execute();
    await db.insertInto("devices").values([
      { hostname: "open", device_type: "qemu" },
      { hostname: "private", device_type: "qemu", is_public: false },
      { hostname: "for-g1", device_type: "qemu" },
      { hostname: "on-closed", device_type: "closed" },
    ]).execute();
    await db.insertInto("device_group_permissions").values({
      device_hostname: "for-g1",
      group_id: g1,
      permission: "view",
    })
      .execute();
    const shapes: { visibility: number; device: string | null; type: string; groups: number[] }[] = [];
    for (const visibility of [PUBLIC, PERSONAL, GROUP]) {
      for (const device of [null, "open", "private", "for-g1", "on-closed"]) {
        for (const groupsOf of visibility === GROUP ? [[], [g1], [g1, g2]] : [[]]) {
          shapes.push({ visibility, device, type: device === "on-closed" ? "closed" : "qemu", groups: groupsOf });
        }
      }
    }
    const ids: number[] = [];
    for (const [i, shape] of shapes.entries()) {
      const row = await db.insertInto("test_jobs").values({
        definition: "{}",
        submitter_id: users[i % 2].id,
        visibility: shape.visibility,
        actual_device: shape.device,
        requested_device_type: shape.type,
      }).returning("id").executeTakeFirstOrThrow();
      ids.push(row.id);
      for (const group of shape.groups) {
        await db.insertInto("test_job_viewing_groups").values({ job_id: row.id, group_id: group }).execute();
      }
    }
    const rules = await AccessRules.load(db);
    const facts = await loadJobFacts(db, ids);
    for (const viewer of [undefined, ...users]) {
      const who = rules.rightsOf(viewer);
      const expected = ids.filter((id) => rules.canViewJob(who, facts.get(id)));
      let query = db.selectFrom("test_jobs as j").select("j.id").orderBy("j.id");
      if (!who.superuser) query = query.where(rules.jobCondition(who));
      const filtered = (await query.execute()).map((r) => r.id);
      assertEquals(filtered, expected, `viewer ${viewer?.username ?? "anonymous"}`);
      assert(expected.length > 0 && (who.superuser || expected.length < ids.length), "the matrix decides nothing");
    }
  } finally {
    await storage.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("secrets' values are masked and their names kept", () => {
  const masked = maskSecrets("job_name: x\n# why\nsecrets:\n  API_KEY: s3cret\n  OTHER: 'two'\ncontext: {a: 1}\n");
  assert(!masked.includes("s3cret") && !masked.includes("two"), masked);
  assertEquals(parse(masked), { job_name: "x", secrets: { API_KEY: MASKED, OTHER: MASKED }, context: { a: 1 } });
  assert(masked.includes("# why"), "comments outside the secrets are kept");
});

Deno.test("an alias elsewhere to an anchor inside the secrets is masked too", () => {
  const masked = maskSecrets("secrets:\n  KEY: &k s3cret\nmetadata:\n  copy: *k\n");
  assert(!masked.includes("s3cret"), masked);
  assertEquals(parse(masked), { secrets: { KEY: MASKED }, metadata: { copy: MASKED } });
});

Deno.test("secrets given through an alias or a merge are masked with their names", () => {
  const masked = maskSecrets("base: &b {A: one}\nsecrets:\n  <<: *b\n  B: two\n");
  assertEquals((parse(masked) as { secrets: unknown }).secrets, { A: MASKED, B: MASKED });
  assertEquals(secretNames("base: &b {A: one}\nsecrets: *b\n"), ["A"]);
});

Deno.test("a definition without secrets is returned as it was", () => {
  const text = "job_name: x  # same\nvisibility: public\n";
  assertEquals(maskSecrets(text), text);
  assertEquals(secretNames(text), []);
  assertEquals(secretNames("secrets: {}\n"), []);
});

Deno.test("secrets that are not a mapping are masked whole, and an unreadable definition is not shown", () => {
  assertEquals(parse(maskSecrets("secrets: [s3cret]\n")), { secrets: MASKED });
  assert(!maskSecrets("secrets: {a: s3cret\n").includes("s3cret"));
});
