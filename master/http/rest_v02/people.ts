/**
 * Who may do what, in LAVA's REST API v0.2: `permissions/devicetypes/` and
 * `permissions/devices/` (a group's view, submit or change on one; read by
 * administrators, changed by those who may change the object),
 * `groups/` and `users/` (administrators only), the caller's own
 * `remote-artifact-tokens/` (Basalt's callback tokens: a job's callback names
 * one), `token/` (a user name and password give a token) and
 * `jobs/batch-cancel/`.
 */
import type { Context, Hono } from "hono";
import { addLabGroup, addLabUser, changeLabPermission, deleteLabGroup, permissionOf } from "../../lab/admin/people.ts";
import { addOwnCallbackToken, deleteOwnCallbackToken } from "../../lab/callback_tokens.ts";
import type { Lab } from "../../lab/lab.ts";
import { sealContext } from "../../storage/callback_tokens.ts";
import type { PermissionTarget } from "../../storage/groups.ts";
import { authenticatePassword, issueToken } from "../../storage/users.ts";
import { accessFor, allGrants, mayCancel, restTime, usersWithGroups, visibleJobIds } from "../../views/mod.ts";
import type { HttpEnv } from "../env.ts";
import { paginatedList, requestData, requiredText, RestError, superuser, writer } from "./shape.ts";

function pathId(c: Context<HttpEnv>): number {
  const text = c.req.param("id") ?? "";
  if (!/^\d{1,15}$/.test(text)) throw new RestError(404, "Not found.");
  return Number(text);
}

export function peopleRoutesV02(api: Hono<HttpEnv>, lab: Lab): void {
  for (const kind of ["devicetype", "device"] as const) {
    const path = kind === "device" ? "/permissions/devices/" : "/permissions/devicetypes/";
    const shaped = async (c: Context<HttpEnv>) =>
      (await allGrants(lab, await accessFor(lab, c.get("user")), kind)).map((g) => ({
        id: g.id,
        group: g.group,
        permission: g.permission,
        [kind]: g.target,
      }));
    // LAVA lets only administrators read or change these.
    api.get(path, async (c) => {
      superuser(c);
      return c.json(paginatedList(c, await shaped(c)));
    });
    api.get(`${path}:id/`, async (c) => {
      superuser(c);
      const grant = (await shaped(c)).find((g) => g.id === pathId(c));
      if (!grant) throw new RestError(404, "Not found.");
      return c.json(grant);
    });
    api.post(path, async (c) => {
      const user = writer(c);
      const data = await requestData(c);
      const name = requiredText(data, kind);
      const target: PermissionTarget = kind === "device" ? { device: name } : { deviceType: name };
      const group = requiredText(data, "group");
      await changeLabPermission(
        lab,
        user,
        target,
        group,
        permissionOf(requiredText(data, "permission"), target),
        "grant",
      );
      const made = (await shaped(c)).findLast((g) => g[kind] === name && g.group === group);
      return c.json(made, 201);
    });
    api.delete(`${path}:id/`, async (c) => {
      const user = writer(c);
      const grant = (await allGrants(lab, await accessFor(lab, user), kind)).find((g) => g.id === pathId(c));
      if (!grant) throw new RestError(404, "Not found.");
      const target: PermissionTarget = kind === "device" ? { device: grant.target } : { deviceType: grant.target };
      await changeLabPermission(lab, user, target, grant.group, permissionOf(grant.permission, target), "revoke");
      return c.body(null, 204);
    });
  }

  const groups = async () =>
    (await lab.db.selectFrom("groups").select(["id", "name"]).orderBy("name").execute()).map((g) => ({
      id: g.id,
      name: g.name,
    }));
  api.get("/groups/", async (c) => {
    superuser(c);
    const name = c.req.query("name");
    return c.json(paginatedList(c, (await groups()).filter((g) => name === undefined || g.name === name)));
  });
  api.get("/groups/:id/", async (c) => {
    superuser(c);
    const group = (await groups()).find((g) => g.id === pathId(c));
    if (!group) throw new RestError(404, "Not found.");
    return c.json(group);
  });
  api.post("/groups/", async (c) => {
    const name = requiredText(await requestData(c), "name");
    await addLabGroup(lab, superuser(c), name);
    return c.json((await groups()).find((g) => g.name === name), 201);
  });
  api.delete("/groups/:id/", async (c) => {
    const user = superuser(c);
    const group = (await groups()).find((g) => g.id === pathId(c));
    if (!group) throw new RestError(404, "Not found.");
    await deleteLabGroup(lab, user, group.name);
    return c.body(null, 204);
  });

  const users = async (c: Context<HttpEnv>) => {
    const ids = new Map(
      (await lab.db.selectFrom("users").select(["id", "username", "date_joined"]).execute()).map((
        u,
      ) => [u.username, u]),
    );
    return (await usersWithGroups(lab, superuser(c))).map((u) => ({
      id: ids.get(u.username)!.id,
      username: u.username,
      first_name: "",
      last_name: "",
      email: u.email,
      is_active: u.active,
      is_staff: u.superuser,
      is_superuser: u.superuser,
      groups: u.groups,
      last_login: restTime(u.lastLogin),
      date_joined: restTime(ids.get(u.username)!.date_joined),
    }));
  };
  api.get("/users/", async (c) => {
    const q = c.req.query();
    const all = await users(c);
    return c.json(paginatedList(
      c,
      all.filter((u) =>
        (q.username === undefined || u.username === q.username) && (q.email === undefined || u.email === q.email)
      ),
    ));
  });
  api.get("/users/:id/", async (c) => {
    const user = (await users(c)).find((u) => u.id === pathId(c));
    if (!user) throw new RestError(404, "Not found.");
    return c.json(user);
  });
  api.post("/users/", async (c) => {
    const data = await requestData(c);
    const username = requiredText(data, "username");
    await addLabUser(lab, superuser(c), {
      username,
      email: typeof data.email === "string" ? data.email : undefined,
      superuser: data.is_superuser === true,
    });
    return c.json((await users(c)).find((u) => u.username === username), 201);
  });

  api.get("/remote-artifact-tokens/", async (c) => {
    const user = writer(c);
    const box = lab.secrets;
    const rows = await lab.db.selectFrom("callback_tokens").select(["description", "sealed"])
      .where("user_id", "=", user.id).orderBy("description").execute();
    const tokens = await Promise.all(rows.map(async (r) => ({
      name: r.description,
      token: box ? await box.unseal(r.sealed, sealContext(user.id, r.description)) : null,
    })));
    return c.json(paginatedList(c, tokens));
  });
  api.post("/remote-artifact-tokens/", async (c) => {
    const data = await requestData(c);
    const made = await addOwnCallbackToken(lab, writer(c), requiredText(data, "name"), requiredText(data, "token"));
    return c.json({ name: made.token.description, token: made.secret }, 201);
  });
  api.delete("/remote-artifact-tokens/:name/", async (c) => {
    await deleteOwnCallbackToken(lab, writer(c), c.req.param("name") ?? "");
    return c.body(null, 204);
  });
  // DRF's ObtainAuthToken: a user name and password give a token. LAVA returns the user's first token; Basalt keeps
  // only tokens' hashes, so each call makes a new one (named as LAVA names it).
  api.post("/token/", async (c) => {
    const data = await requestData(c);
    const missing = ["username", "password"].filter((f) => typeof data[f] !== "string" || data[f] === "");
    if (missing.length > 0) {
      throw new RestError(400, "credentials", Object.fromEntries(missing.map((f) => [f, ["This field is required."]])));
    }
    const user = await authenticatePassword(lab.db, String(data.username), String(data.password));
    if (!user) {
      throw new RestError(400, "credentials", { non_field_errors: ["Unable to log in with provided credentials."] });
    }
    return c.json({ token: (await issueToken(lab.db, user.username, "Created by REST API call")).token });
  });

  api.post("/jobs/batch-cancel/", async (c) => {
    const user = writer(c);
    const data = await requestData(c);
    if (!Array.isArray(data.job_ids)) {
      throw new RestError(400, "job_ids", { job_ids: ["Expected a list of job ids."] });
    }
    const canceled: unknown[] = [];
    const invalid: unknown[] = [];
    const access = await accessFor(lab, user);
    for (const given of data.job_ids.slice(0, 1000)) {
      const id = Number(given);
      const exists = Number.isInteger(id) && id > 0 && id < 2 ** 31 &&
        (await lab.db.selectFrom("test_jobs").select("id").where("id", "=", id).executeTakeFirst()) !== undefined;
      const visible = exists && (await visibleJobIds(lab, access, [id])).has(id);
      if (visible && await mayCancel(lab, id, user)) {
        await lab.cancel(id, `cancelled by ${user.username}`);
        canceled.push(given);
      } else invalid.push(given);
    }
    return c.json({ message: "Job cancel signal sent for job ids.", job_ids: canceled, invalid_job_ids: invalid });
  });
}
