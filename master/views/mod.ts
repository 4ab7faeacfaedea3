/**
 * The lab as its readers see it — LAVA's APIs (XML-RPC for lavacli, the JSON
 * API) and the web pages — with LAVA's field names and display strings, read
 * from the database and the live actors under the lab's visibility rules. No
 * page or API builds its own queries: they all answer from these, so they never
 * disagree.
 *
 * ```ts
 * const access = await accessFor(lab, user);
 * const devices = await listDevices(lab, false, access);
 * ```
 */
export * from "./access.ts";
export * from "./administration.ts";
export * from "./actors.ts";
export * from "./definitions.ts";
export * from "./device_types.ts";
export * from "./devices.ts";
export * from "./jobs.ts";
export * from "./job_pages.ts";
export * from "./logs.ts";
export * from "./results.ts";
export * from "./workers.ts";
