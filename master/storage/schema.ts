/**
 * The database as kysely sees it. One interface per table of the migrations
 * (`migrations/`); change both together.
 */
import type { ColumnType, Generated, Insertable, Selectable } from "kysely";

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** A column with a server-side default: optional on insert. */
type Defaulted<T> = ColumnType<T, T | undefined, T>;
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface UsersTable {
  id: Generated<number>;
  username: string;
  email: Defaulted<string>;
  is_superuser: Defaulted<boolean>;
  is_active: Defaulted<boolean>;
  password_hash: string | null;
  date_joined: Timestamp;
  last_login: NullableTimestamp;
}

export interface GroupsTable {
  id: Generated<number>;
  name: string;
}

export interface UserGroupsTable {
  user_id: number;
  group_id: number;
}

export interface ApiTokensTable {
  id: Generated<number>;
  user_id: number;
  token_hash: string;
  description: Defaulted<string>;
  created_at: Timestamp;
  last_used_at: NullableTimestamp;
}

export interface WorkersTable {
  hostname: string;
  description: Defaulted<string>;
  state: Defaulted<number>;
  health: Defaulted<number>;
  last_ping: NullableTimestamp;
  job_limit: Defaulted<number>;
  version: Defaulted<string>;
  dispatcher_config: Defaulted<string>;
  env: Defaulted<string>;
  env_dut: Defaulted<string>;
  created_at: Timestamp;
  /** The SHA-256 of a LAVA worker's token (`lava-worker --token`); null for a worker on Basalt's mailbox. */
  lava_token_hash: string | null;
}

export interface DeviceTypesTable {
  name: string;
  description: Defaulted<string>;
  display: Defaulted<boolean>;
  health_frequency: Defaulted<number>;
  /** 0: `health_frequency` counts hours; 1: it counts jobs. */
  health_denominator: Defaulted<number>;
  disable_health_check: Defaulted<boolean>;
  created_at: Timestamp;
  /** Days its finished jobs are kept; null: the lab's default. */
  retention_days: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface DeviceTypeAliasesTable {
  name: string;
  device_type: string;
}

export interface TagsTable {
  id: Generated<number>;
  name: string;
  description: Defaulted<string>;
}

export interface DevicesTable {
  hostname: string;
  device_type: string;
  worker_hostname: string | null;
  description: Defaulted<string>;
  state: Defaulted<number>;
  health: Defaulted<number>;
  dictionary: string | null;
  is_public: Defaulted<boolean>;
  last_health_report_job: number | null;
  created_at: Timestamp;
  health_reason: string | null;
  /** Who looks after the board in the lab (LAVA's physical owner and group): names, for people. */
  physical_owner: ColumnType<string | null, string | null | undefined, string | null>;
  physical_group: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface DeviceTagsTable {
  device_hostname: string;
  tag: string;
}

export type Permission = "view" | "submit" | "change";

export interface DeviceGroupPermissionsTable {
  id: Generated<number>;
  device_hostname: string;
  group_id: number;
  permission: Permission;
}

export interface DeviceTypeGroupPermissionsTable {
  id: Generated<number>;
  device_type: string;
  group_id: number;
  permission: Permission;
}

export interface TestJobsTable {
  id: Generated<number>;
  sub_id: Defaulted<string>;
  target_group: string | null;
  multinode_role: string | null;
  multinode_definition: Defaulted<string>;
  definition: string;
  original_definition: Defaulted<string>;
  description: Defaulted<string>;
  health_check: Defaulted<boolean>;
  submitter_id: number;
  requested_device_type: string | null;
  requested_device: string | null;
  requested_worker: string | null;
  actual_device: string | null;
  state: Defaulted<number>;
  health: Defaulted<number>;
  priority: Defaulted<number>;
  visibility: Defaulted<number>;
  submit_time: Timestamp;
  start_time: NullableTimestamp;
  end_time: NullableTimestamp;
  queue_timeout_seconds: number | null;
  failure_comment: string | null;
  error_type: string | null;
  error_msg: string | null;
  metadata: ColumnType<Record<string, Json>, string | undefined, string>;
  token_hash: string | null;
  pipeline_description: string | null;
  /** JSON: the deploy, boot and test methods the job uses (actors/definitions/methods.ts). */
  required_methods: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface TestJobTagsTable {
  job_id: number;
  tag: string;
}

export interface TestJobViewingGroupsTable {
  job_id: number;
  group_id: number;
}

export interface TestSuitesTable {
  id: Generated<number>;
  job_id: number;
  name: string;
}

export interface TestSetsTable {
  id: Generated<number>;
  suite_id: number;
  name: string;
}

export interface TestCasesTable {
  id: Generated<number>;
  suite_id: number;
  test_set_id: number | null;
  name: string;
  result: number;
  /** numeric(30,10): read back as a decimal string so no digit is lost. */
  measurement: ColumnType<string | null, string | number | null, string | number | null>;
  units: Defaulted<string>;
  metadata: ColumnType<Json | null, string | null, string | null>;
  start_log_line: number | null;
  end_log_line: number | null;
  logged: Timestamp;
}

export interface JobLogLinesTable {
  job_id: number;
  line: number;
  dt: Timestamp;
  level: string;
  /** The record's `msg`, JSON-encoded (a string message is a JSON string). */
  message: string;
}

export interface ActorEventsTable {
  id: Generated<number>;
  actor_kind: string;
  actor_id: string;
  sequence: number;
  event_type: string;
  state_before: string | null;
  state_after: string;
  payload: ColumnType<Json, string | undefined, never>;
  created_at: Timestamp;
}

export interface NodeSettingsTable {
  key: string;
  value: string;
}

export interface MailboxLinksTable {
  peer: string;
  next_seq: number;
  peer_epoch: string | null;
  delivered: number;
}

export interface MailboxOutboxTable {
  peer: string;
  seq: number;
  recipient: string;
  kind: string;
  body: string;
}

export interface ActorSnapshotsTable {
  kind: string;
  id: string;
  sequence: number;
  snapshot: ColumnType<Json, string, string>;
  updated_at: Timestamp;
}

export interface WebhookDeliveriesTable {
  id: Generated<number>;
  job_id: number;
  url: string;
  body: string;
  /** The callback's token: sealed (secret_box.ts) when token_sealed, else sent as it is. */
  token: string | null;
  token_sealed: Defaulted<boolean>;
  attempts: Defaulted<number>;
  next_attempt: Timestamp;
  last_error: string | null;
}

/** The files a job was started with, as LAVA keeps them beside its log (`device.yaml`, `dispatcher.yaml`, ...). */
export interface JobRunFilesTable {
  job_id: number;
  device: string;
  dispatcher: string;
  env: string;
  env_dut: string;
}

/** A secret a user keeps for job callbacks, named by its description, sealed with the master's key. */
export interface CallbackTokensTable {
  id: Generated<number>;
  user_id: number;
  description: string;
  sealed: string;
  created_at: Timestamp;
}

/** One change an admin made: who, when, to what, and what (append-only). */
export interface AdminChangesTable {
  id: Generated<number>;
  at: Timestamp;
  username: string;
  object_kind: string;
  object_name: string;
  summary: string;
}

export interface Database {
  users: UsersTable;
  groups: GroupsTable;
  user_groups: UserGroupsTable;
  api_tokens: ApiTokensTable;
  callback_tokens: CallbackTokensTable;
  job_run_files: JobRunFilesTable;
  workers: WorkersTable;
  device_types: DeviceTypesTable;
  device_type_aliases: DeviceTypeAliasesTable;
  tags: TagsTable;
  devices: DevicesTable;
  device_tags: DeviceTagsTable;
  device_group_permissions: DeviceGroupPermissionsTable;
  device_type_group_permissions: DeviceTypeGroupPermissionsTable;
  test_jobs: TestJobsTable;
  test_job_tags: TestJobTagsTable;
  test_job_viewing_groups: TestJobViewingGroupsTable;
  test_suites: TestSuitesTable;
  test_sets: TestSetsTable;
  test_cases: TestCasesTable;
  job_log_lines: JobLogLinesTable;
  actor_events: ActorEventsTable;
  node_settings: NodeSettingsTable;
  mailbox_links: MailboxLinksTable;
  mailbox_outbox: MailboxOutboxTable;
  actor_snapshots: ActorSnapshotsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  admin_changes: AdminChangesTable;
}

export type User = Selectable<UsersTable>;
export type Worker = Selectable<WorkersTable>;
export type DeviceType = Selectable<DeviceTypesTable>;
export type Device = Selectable<DevicesTable>;
export type TestJob = Selectable<TestJobsTable>;
export type NewTestJob = Insertable<TestJobsTable>;
export type JobLogLine = Selectable<JobLogLinesTable>;
export type ActorEvent = Selectable<ActorEventsTable>;
