import { assertEquals, assertRejects, assertStringIncludes } from "../../tests/support/assert.ts";
import { testOnBothBackends } from "../../tests/support/storage.ts";
import { DeviceHealth, DeviceState, WorkerHealth, WorkerState } from "../../actors/domain/states.ts";
import { addDeviceType, addDeviceTypeAlias, listDeviceTypeAliases, resolveDeviceType } from "./device_types.ts";
import { addDevice, listDevices } from "./devices.ts";
import { AlreadyExistsError, NotFoundError } from "./errors.ts";
import { addWorker } from "./workers.ts";

testOnBothBackends("workers, device types and devices", [
  {
    name: "a new worker is Offline and Active, a new device Idle and in Maintenance",
    async fn(fx) {
      const { db } = await fx.open();
      const worker = await addWorker(db, { hostname: "lab-worker-1", jobLimit: 2 });
      assertEquals([worker.state, worker.health, worker.job_limit], [
        WorkerState.byName.Offline,
        WorkerHealth.byName.Active,
        2,
      ]);
      await addDeviceType(db, { name: "qemu" });
      const device = await addDevice(db, {
        hostname: "qemu01",
        deviceType: "qemu",
        worker: "lab-worker-1",
        tags: ["usb", "big-ram", "usb"],
      });
      assertEquals([device.state, device.health], [DeviceState.byName.Idle, DeviceHealth.byName.Maintenance]);
      assertEquals((await listDevices(db)).map((d) => [d.hostname, d.device_type, d.worker_hostname, d.tags]), [
        ["qemu01", "qemu", "lab-worker-1", ["big-ram", "usb"]],
      ]);
    },
  },
  {
    name: "a device of an unknown type is refused with the command that fixes it",
    async fn(fx) {
      const { db } = await fx.open();
      await addWorker(db, { hostname: "w1" });
      const error = await assertRejects(
        () => addDevice(db, { hostname: "bbb-01", deviceType: "beaglebone-black", worker: "w1" }),
        NotFoundError,
      );
      assertEquals(
        error.message,
        'device type "beaglebone-black" does not exist (add it with: deno task manage device-types add beaglebone-black)',
      );
      assertEquals(await listDevices(db), []);
    },
  },
  {
    name: "a device on an unknown worker is refused",
    async fn(fx) {
      const { db } = await fx.open();
      await addDeviceType(db, { name: "qemu" });
      const error = await assertRejects(
        () => addDevice(db, { hostname: "qemu01", deviceType: "qemu", worker: "ghost" }),
        NotFoundError,
      );
      assertStringIncludes(error.message, 'worker "ghost" does not exist');
    },
  },
  {
    name: "an alias resolves to its device type and a device can be added through it",
    async fn(fx) {
      const { db } = await fx.open();
      await addWorker(db, { hostname: "w1" });
      await addDeviceType(db, { name: "qemu" });
      await addDeviceTypeAlias(db, "kvm", "qemu");
      assertEquals((await resolveDeviceType(db, "kvm"))?.name, "qemu");
      assertEquals(await listDeviceTypeAliases(db, "qemu"), ["kvm"]);
      const device = await addDevice(db, { hostname: "kvm01", deviceType: "kvm", worker: "w1" });
      assertEquals(device.device_type, "qemu");
      await assertRejects(() => addDeviceTypeAlias(db, "qemu", "qemu"), AlreadyExistsError);
    },
  },
  {
    name: "duplicates are refused and leave the first one intact",
    async fn(fx) {
      const { db } = await fx.open();
      await addWorker(db, { hostname: "w1", description: "first" });
      await assertRejects(() => addWorker(db, { hostname: "w1" }), AlreadyExistsError);
      await addDeviceType(db, { name: "qemu" });
      await assertRejects(() => addDeviceType(db, { name: "qemu" }), AlreadyExistsError);
      await addDevice(db, { hostname: "qemu01", deviceType: "qemu", worker: "w1", tags: ["a"] });
      await assertRejects(
        () => addDevice(db, { hostname: "qemu01", deviceType: "qemu", worker: "w1", tags: ["b"] }),
        AlreadyExistsError,
      );
      assertEquals((await listDevices(db)).map((d) => d.tags), [["a"]]);
    },
  },
]);
