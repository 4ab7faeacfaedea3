import { assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { testOnBothBackends } from "../../tests/support/storage.ts";
import { AlreadyExistsError, NotFoundError } from "./errors.ts";
import { addGroup, addGroupMembers, grantDevice, listGroups, setDevicePublic } from "./groups.ts";
import { addUser } from "./users.ts";
import { addWorker } from "./workers.ts";
import { addDeviceType } from "./device_types.ts";
import { addDevice } from "./devices.ts";

testOnBothBackends("groups and device permissions", [
  {
    name: "groups hold their members, and a device is made private and granted to a group",
    async fn(fx) {
      const { db } = await fx.open();
      await addUser(db, { username: "ann" });
      await addUser(db, { username: "bob" });
      await addGroup(db, "lab", ["ann"]);
      await addGroupMembers(db, "lab", ["bob", "ann"]);
      assertEquals(await listGroups(db), [{ name: "lab", members: ["ann", "bob"] }]);
      await assertRejects(() => addGroup(db, "lab"), AlreadyExistsError);
      await assertRejects(() => addGroup(db, "other", ["nobody"]), NotFoundError, '"nobody"');
      await addWorker(db, { hostname: "w1" });
      await addDeviceType(db, { name: "qemu" });
      await addDevice(db, { hostname: "vm1", deviceType: "qemu", worker: "w1" });
      await grantDevice(db, "vm1", "lab", "view");
      await grantDevice(db, "vm1", "lab", "view");
      await setDevicePublic(db, "vm1", false);
      const device = await db.selectFrom("devices").select("is_public").where("hostname", "=", "vm1")
        .executeTakeFirstOrThrow();
      assertEquals(device.is_public, false);
      const grants = await db.selectFrom("device_group_permissions").select("permission").execute();
      assertEquals(grants, [{ permission: "view" }]);
      await assertRejects(() => grantDevice(db, "vm9", "lab", "view"), NotFoundError, '"vm9"');
    },
  },
]);
