/**
 * The admin's pages and forms: add and change devices (the dictionary
 * previewed — checked and rendered — before it is saved), device types and
 * their aliases, workers, permissions, users and groups. Every form is checked
 * against the session's CSRF token, and every change goes through the lab's
 * admin layer (master/lab/admin/), which refuses whoever may not make it and
 * records who made it.
 */
import type { Context, Hono } from "hono";
import type { Lab } from "../../master/lab/lab.ts";
import { LabRequestError } from "../../master/lab/request_error.ts";
import { addLabDevice, changeLabDeviceTag, setDictionary, updateLabDevice } from "../../master/lab/admin/devices.ts";
import {
  addLabAlias,
  addLabDeviceType,
  deleteLabAlias,
  updateLabDeviceType,
} from "../../master/lab/admin/device_types.ts";
import { addLabWorker, removeLabWorker, updateLabWorker } from "../../master/lab/admin/workers.ts";
import {
  addLabGroup,
  addLabUser,
  changeLabGroupMembers,
  changeLabPermission,
  deleteLabGroup,
  permissionOf,
  setLabPassword,
  updateLabUser,
} from "../../master/lab/admin/people.ts";
import type { Changer } from "../../master/lab/admin/authority.ts";
import { BODY_LIMITS } from "../../master/http/body.ts";
import { clientErrorStatus } from "../../master/http/errors.ts";
import {
  accessFor,
  deviceSettings,
  groupsWithMembers,
  previewDictionary,
  usersWithGroups,
} from "../../master/views/mod.ts";
import type { WorkerHealthName } from "../../actors/machines/worker.ts";
import { formatTime } from "../components/badge.tsx";
import { Csrf, DeviceForm, type DeviceFormValues, Options } from "../components/admin_forms.tsx";
import { checkCsrf, form, page, param, route, viewerOf, type WebEnv } from "../render.tsx";

/** The logged-in user making a change; a page without one is refused. */
function changer(c: Context<WebEnv>): Changer {
  const user = c.get("user");
  if (!user) throw new LabRequestError("log in to change the lab", 403);
  return user;
}

function commaList(text: string | undefined): string[] {
  return (text ?? "").split(",").map((t) => t.trim()).filter((t) => t !== "");
}

/** A whole number from a form field, or undefined when it is empty. */
function wholeNumber(text: string | undefined, name: string, min = 0): number | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  if (!/^\d{1,9}$/.test(text.trim()) || Number(text) < min) {
    throw new LabRequestError(`${name} must be a whole number of ${min} or more`, 400);
  }
  return Number(text);
}

function deviceValues(fields: Record<string, string>): DeviceFormValues {
  return {
    hostname: (fields.hostname ?? "").trim(),
    device_type: fields.device_type ?? "",
    worker: fields.worker ?? "",
    description: fields.description ?? "",
    tags: fields.tags ?? "",
    public: fields.public === "on",
    physical_owner: (fields.physical_owner ?? "").trim(),
    physical_group: (fields.physical_group ?? "").trim(),
    health: fields.health ?? "Maintenance",
    dictionary: (fields.dictionary ?? "").replaceAll("\r\n", "\n"),
  };
}

export function adminPages(app: Hono<WebEnv>, lab: Lab): void {
  const deviceForm = (c: Context<WebEnv>, isNew: boolean, values: DeviceFormValues, extra = {}, status = 200) =>
    page(
      c,
      isNew ? "Add a device" : `Change device ${values.hostname}`,
      <DeviceForm
        csrf={viewerOf(c)?.csrf ?? ""}
        isNew={isNew}
        values={values}
        types={[...lab.catalog.deviceTypes.keys()].sort()}
        workers={[...lab.catalog.workers.keys()].sort()}
        {...extra}
      />,
      status,
    );

  /** Preview, or save and go to the device's page; a refused save shows the form again with the reason. */
  const submitDevice = async (c: Context<WebEnv>, isNew: boolean) => {
    const fields = await form(c, BODY_LIMITS.dictionary);
    checkCsrf(c, fields);
    const by = changer(c);
    const values = deviceValues(fields);
    const preview = values.dictionary.trim()
      ? previewDictionary(lab, values.hostname || "new-device", values.device_type, values.dictionary)
      : undefined;
    if (fields.action !== "save") {
      return deviceForm(c, isNew, values, { preview: preview ?? { ok: false, problems: ["the dictionary is empty"] } });
    }
    if (preview && !preview.ok) return deviceForm(c, isNew, values, { preview }, 400);
    try {
      const tags = commaList(values.tags);
      if (isNew) {
        await addLabDevice(lab, by, {
          hostname: values.hostname,
          deviceType: values.device_type,
          worker: values.worker,
          description: values.description,
          tags,
          health: values.health,
          dictionary: values.dictionary.trim() ? values.dictionary : undefined,
        });
      } else {
        const before = lab.catalog.devices.get(values.hostname);
        if (!before) throw new LabRequestError(`Device '${values.hostname}' was not found.`, 404);
        for (const tag of tags.filter((t) => !before.tags.includes(t))) {
          await changeLabDeviceTag(lab, by, values.hostname, tag, "add");
        }
        for (const tag of before.tags.filter((t) => !tags.includes(t))) {
          await changeLabDeviceTag(lab, by, values.hostname, tag, "remove");
        }
        if (values.dictionary.trim() && values.dictionary !== (before.dictionary ?? "")) {
          await setDictionary(lab, by, values.hostname, values.dictionary);
        }
      }
      await updateLabDevice(lab, by, values.hostname, {
        worker: isNew ? undefined : values.worker,
        deviceType: isNew ? undefined : values.device_type,
        description: values.description,
        isPublic: values.public,
        physicalOwner: values.physical_owner || null,
        physicalGroup: values.physical_group || null,
      });
    } catch (error) {
      const status = clientErrorStatus(error);
      if (status === undefined || status === 403) throw error;
      return deviceForm(c, isNew, values, { preview, error: (error as Error).message }, status);
    }
    return c.redirect(`/devices/${values.hostname}`, 303);
  };

  app.get(
    "/devices/new",
    route((c) => {
      if (!c.get("user")?.is_superuser) throw new LabRequestError("only administrators add devices", 403);
      const types = [...lab.catalog.deviceTypes.keys()].sort();
      const workers = [...lab.catalog.workers.keys()].sort();
      return deviceForm(c, true, {
        hostname: "",
        device_type: types[0] ?? "",
        worker: workers[0] ?? "",
        description: "",
        tags: "",
        public: true,
        physical_owner: "",
        physical_group: "",
        health: "Maintenance",
        dictionary: types[0] ? `{% extends '${types[0]}.jinja2' %}\n` : "",
      });
    }),
  );
  app.get(
    "/devices/:hostname/edit",
    route(async (c) => {
      const access = await accessFor(lab, c.get("user"));
      return deviceForm(c, false, await deviceSettings(lab, access, param(c, "hostname")));
    }),
  );
  app.post("/web/devices", route((c) => submitDevice(c, true)));
  app.post("/web/devices/:hostname", route((c) => submitDevice(c, false)));

  app.post(
    "/web/device-types",
    route(async (c) => {
      const fields = await form(c);
      checkCsrf(c, fields);
      const name = (fields.name ?? "").trim();
      await addLabDeviceType(lab, changer(c), { name, description: fields.description ?? "" });
      return c.redirect(`/device-types/${name}`, 303);
    }),
  );
  app.post(
    "/web/workers",
    route(async (c) => {
      const fields = await form(c);
      checkCsrf(c, fields);
      const name = (fields.name ?? "").trim();
      await addLabWorker(lab, changer(c), name, fields.description ?? "");
      return c.redirect(`/workers/${name}`, 303);
    }),
  );
  app.post(
    "/web/device-types/:name",
    route(async (c) => {
      const fields = await form(c);
      checkCsrf(c, fields);
      const denominator = fields.health_denominator === "jobs" ? "jobs" : "hours";
      await updateLabDeviceType(lab, changer(c), param(c, "name"), {
        description: fields.description ?? "",
        healthFrequency: wholeNumber(fields.health_frequency, "the health-check frequency", 1),
        healthDenominator: denominator,
        disableHealthCheck: fields.health_disabled === "on",
        retentionDays: wholeNumber(fields.retention_days, "the days to keep jobs", 1) ?? null,
      });
      return c.redirect(`/device-types/${param(c, "name")}`, 303);
    }),
  );
  app.post(
    "/web/device-types/:name/aliases",
    route(async (c) => {
      const fields = await form(c);
      checkCsrf(c, fields);
      const alias = (fields.alias ?? "").trim();
      if (fields.change === "remove") await deleteLabAlias(lab, changer(c), alias, param(c, "name"));
      else await addLabAlias(lab, changer(c), alias, param(c, "name"));
      return c.redirect(`/device-types/${param(c, "name")}`, 303);
    }),
  );
  app.post(
    "/web/permissions",
    route(async (c) => {
      const fields = await form(c);
      checkCsrf(c, fields);
      const name = fields.name ?? "";
      const target = fields.kind === "device" ? { device: name } : { deviceType: name };
      await changeLabPermission(
        lab,
        changer(c),
        target,
        fields.group ?? "",
        permissionOf(fields.permission ?? "", target),
        fields.change === "revoke" ? "revoke" : "grant",
      );
      return c.redirect(fields.kind === "device" ? `/devices/${name}` : `/device-types/${name}`, 303);
    }),
  );

  app.post(
    "/web/workers/:hostname",
    route(async (c) => {
      const fields = await form(c);
      checkCsrf(c, fields);
      const health = fields.health;
      if (health !== undefined && !["Active", "Maintenance", "Retired"].includes(health)) {
        throw new LabRequestError(`unknown worker health ${health}`, 400);
      }
      await updateLabWorker(lab, changer(c), param(c, "hostname"), {
        description: fields.description,
        jobLimit: wholeNumber(fields.job_limit, "the job limit"),
        health: health as WorkerHealthName | undefined,
        reason: fields.reason?.trim() || undefined,
      });
      return c.redirect(`/workers/${param(c, "hostname")}`, 303);
    }),
  );
  app.post(
    "/web/workers/:hostname/remove",
    route(async (c) => {
      const fields = await form(c);
      checkCsrf(c, fields);
      await removeLabWorker(lab, changer(c), param(c, "hostname"));
      return c.redirect("/workers", 303);
    }),
  );

  app.get(
    "/admin/users",
    route(async (c) => {
      const users = await usersWithGroups(lab, c.get("user"));
      const csrf = viewerOf(c)?.csrf ?? "";
      return page(
        c,
        "Users",
        <>
          <table>
            <thead>
              <tr>
                <th>User</th>
                <th>E-mail</th>
                <th>Groups</th>
                <th>Administrator</th>
                <th>Active</th>
                <th>Password</th>
                <th>Last login</th>
              </tr>
            </thead>
            <tbody>
              {users.map((u) => (
                <tr key={u.username}>
                  <td>{u.username}</td>
                  <td>{u.email}</td>
                  <td>{u.groups.join(", ")}</td>
                  <td>{u.superuser ? "yes" : "no"}</td>
                  <td>
                    <form method="post" action={`/web/users/${u.username}`} class="inline">
                      <Csrf csrf={csrf} />
                      {u.active ? "yes " : "no "}
                      <button type="submit" name="active" value={u.active ? "off" : "on"} class="link">
                        {u.active ? "deactivate" : "activate"}
                      </button>
                    </form>
                  </td>
                  <td>{u.hasPassword ? "set" : "none"}</td>
                  <td>{formatTime(u.lastLogin)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Add a user</h2>
          <form method="post" action="/web/users" class="inline" aria-label="add a user">
            <Csrf csrf={csrf} />
            <label>
              Name <input type="text" name="username" required pattern="[A-Za-z0-9@.+_\-]{1,150}" />
            </label>
            <label>
              E-mail <input type="email" name="email" />
            </label>
            <label>
              Administrator <input type="checkbox" name="superuser" value="on" />
            </label>
            <button type="submit">Add</button>
          </form>
          <h2>Set a password</h2>
          <form method="post" action="/web/users/password" class="inline" aria-label="set a password">
            <Csrf csrf={csrf} />
            <label>
              User{" "}
              <select name="username">
                <Options values={users.map((u) => u.username)} />
              </select>
            </label>
            <label>
              Password <input type="password" name="password" autocomplete="new-password" minLength={10} required />
            </label>
            <button type="submit">Set</button>
          </form>
        </>,
      );
    }),
  );
  app.post(
    "/web/users",
    route(async (c) => {
      const fields = await form(c);
      checkCsrf(c, fields);
      await addLabUser(lab, changer(c), {
        username: (fields.username ?? "").trim(),
        email: fields.email?.trim() || undefined,
        superuser: fields.superuser === "on",
      });
      return c.redirect("/admin/users", 303);
    }),
  );
  app.post(
    "/web/users/password",
    route(async (c) => {
      const fields = await form(c);
      checkCsrf(c, fields);
      await setLabPassword(lab, changer(c), fields.username ?? "", fields.password ?? "");
      return c.redirect(c.get("user")?.is_superuser ? "/admin/users" : "/tokens", 303);
    }),
  );
  app.post(
    "/web/users/:username",
    route(async (c) => {
      const fields = await form(c);
      checkCsrf(c, fields);
      await updateLabUser(lab, changer(c), param(c, "username"), { active: fields.active === "on" });
      return c.redirect("/admin/users", 303);
    }),
  );

  app.get(
    "/admin/groups",
    route(async (c) => {
      const groups = await groupsWithMembers(lab, c.get("user"));
      const csrf = viewerOf(c)?.csrf ?? "";
      return page(
        c,
        "Groups",
        <>
          <table>
            <thead>
              <tr>
                <th>Group</th>
                <th>Members</th>
                <th>Change members</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {groups.map((g) => (
                <tr key={g.name}>
                  <td>{g.name}</td>
                  <td>{g.members.join(", ") || "—"}</td>
                  <td>
                    <form method="post" action={`/web/groups/${g.name}`} class="inline">
                      <Csrf csrf={csrf} />
                      <input type="text" name="users" placeholder="user names, comma-separated" required />
                      <button type="submit" name="change" value="add">Add</button>
                      <button type="submit" name="change" value="remove">Remove</button>
                    </form>
                  </td>
                  <td>
                    <form method="post" action={`/web/groups/${g.name}`} class="inline">
                      <Csrf csrf={csrf} />
                      <button type="submit" name="change" value="delete" class="link">delete</button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Add a group</h2>
          <form method="post" action="/web/groups" class="inline" aria-label="add a group">
            <Csrf csrf={csrf} />
            <label>
              Name <input type="text" name="name" required maxLength={150} />
            </label>
            <label>
              Members <input type="text" name="users" placeholder="comma-separated" />
            </label>
            <button type="submit">Add</button>
          </form>
        </>,
      );
    }),
  );
  app.post(
    "/web/groups",
    route(async (c) => {
      const fields = await form(c);
      checkCsrf(c, fields);
      await addLabGroup(lab, changer(c), (fields.name ?? "").trim(), commaList(fields.users));
      return c.redirect("/admin/groups", 303);
    }),
  );
  app.post(
    "/web/groups/:name",
    route(async (c) => {
      const fields = await form(c);
      checkCsrf(c, fields);
      const name = param(c, "name");
      if (fields.change === "delete") await deleteLabGroup(lab, changer(c), name);
      else {
        await changeLabGroupMembers(
          lab,
          changer(c),
          name,
          commaList(fields.users),
          fields.change === "remove" ? "remove" : "add",
        );
      }
      return c.redirect("/admin/groups", 303);
    }),
  );
}
