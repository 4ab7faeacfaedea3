/**
 * Moved to actors/process/host.ts. This re-export only keeps master/lab/ building until its three imports
 * point there; delete it then (it keeps runtime → process → mailbox → runtime a cycle while it exists).
 */
export { ActorHost, type HostOptions, type MailboxOptions } from "../process/host.ts";
