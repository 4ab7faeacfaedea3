/**
 * The lab's domain as LAVA models it: people and their tokens, workers, device
 * types, devices, jobs and their results, plus the append-only job log and actor
 * event history. State and health columns hold LAVA's integer codes
 * (actors/domain/states.ts); their CHECK ranges keep a bad write from landing.
 */
import { type Kysely, sql } from "kysely";
import type { Migration } from "kysely/migration";

const statements = [
  sql`CREATE TABLE users (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9@.+_-]{1,150}$'),
    email text NOT NULL DEFAULT '',
    is_superuser boolean NOT NULL DEFAULT false,
    is_active boolean NOT NULL DEFAULT true,
    password_hash text,
    date_joined timestamptz NOT NULL DEFAULT now(),
    last_login timestamptz
  )`,
  sql`CREATE TABLE groups (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 150)
  )`,
  sql`CREATE TABLE user_groups (
    user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id integer NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
  )`,
  // Only a SHA-256 of each token is kept: a leaked table reveals no usable secret.
  sql`CREATE TABLE api_tokens (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    description text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz
  )`,
  sql`CREATE TABLE workers (
    hostname text PRIMARY KEY CHECK (hostname ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$'),
    description text NOT NULL DEFAULT '',
    state smallint NOT NULL DEFAULT 1 CHECK (state BETWEEN 0 AND 1),
    health smallint NOT NULL DEFAULT 0 CHECK (health BETWEEN 0 AND 2),
    last_ping timestamptz,
    job_limit integer NOT NULL DEFAULT 0 CHECK (job_limit >= 0),
    version text NOT NULL DEFAULT '',
    dispatcher_config text NOT NULL DEFAULT '',
    env text NOT NULL DEFAULT '',
    env_dut text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  sql`CREATE TABLE device_types (
    name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$'),
    description text NOT NULL DEFAULT '',
    display boolean NOT NULL DEFAULT true,
    health_frequency integer NOT NULL DEFAULT 24 CHECK (health_frequency > 0),
    health_denominator smallint NOT NULL DEFAULT 0 CHECK (health_denominator IN (0, 1)),
    disable_health_check boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  sql`CREATE TABLE device_type_aliases (
    name text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 200),
    device_type text NOT NULL REFERENCES device_types (name) ON DELETE CASCADE
  )`,
  sql`CREATE TABLE tags (
    name text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 50),
    description text NOT NULL DEFAULT ''
  )`,
  sql`CREATE TABLE devices (
    hostname text PRIMARY KEY CHECK (hostname ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$'),
    device_type text NOT NULL REFERENCES device_types (name),
    worker_hostname text REFERENCES workers (hostname),
    description text NOT NULL DEFAULT '',
    state smallint NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 2),
    health smallint NOT NULL DEFAULT 4 CHECK (health BETWEEN 0 AND 5),
    dictionary text,
    is_public boolean NOT NULL DEFAULT true,
    last_health_report_job integer,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  sql`CREATE INDEX devices_by_type ON devices (device_type)`,
  sql`CREATE INDEX devices_by_worker ON devices (worker_hostname)`,
  sql`CREATE TABLE device_tags (
    device_hostname text NOT NULL REFERENCES devices (hostname) ON DELETE CASCADE,
    tag text NOT NULL REFERENCES tags (name) ON DELETE CASCADE,
    PRIMARY KEY (device_hostname, tag)
  )`,
  // LAVA grants view/submit/change on devices and device types to groups.
  sql`CREATE TABLE device_group_permissions (
    device_hostname text NOT NULL REFERENCES devices (hostname) ON DELETE CASCADE,
    group_id integer NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    permission text NOT NULL CHECK (permission IN ('view', 'submit', 'change')),
    PRIMARY KEY (device_hostname, group_id, permission)
  )`,
  sql`CREATE TABLE device_type_group_permissions (
    device_type text NOT NULL REFERENCES device_types (name) ON DELETE CASCADE,
    group_id integer NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    permission text NOT NULL CHECK (permission IN ('view', 'submit', 'change')),
    PRIMARY KEY (device_type, group_id, permission)
  )`,
  sql`CREATE TABLE test_jobs (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sub_id text NOT NULL DEFAULT '',
    target_group text,
    multinode_role text,
    multinode_definition text NOT NULL DEFAULT '',
    definition text NOT NULL,
    original_definition text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    health_check boolean NOT NULL DEFAULT false,
    submitter_id integer NOT NULL REFERENCES users (id),
    requested_device_type text REFERENCES device_types (name),
    requested_device text REFERENCES devices (hostname),
    requested_worker text REFERENCES workers (hostname),
    actual_device text REFERENCES devices (hostname),
    state smallint NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 5),
    health smallint NOT NULL DEFAULT 0 CHECK (health BETWEEN 0 AND 3),
    priority smallint NOT NULL DEFAULT 50 CHECK (priority BETWEEN 0 AND 100),
    visibility smallint NOT NULL DEFAULT 0 CHECK (visibility BETWEEN 0 AND 2),
    submit_time timestamptz NOT NULL DEFAULT now(),
    start_time timestamptz,
    end_time timestamptz,
    queue_timeout_seconds integer CHECK (queue_timeout_seconds > 0),
    failure_comment text,
    error_type text,
    error_msg text,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    token_hash text CHECK (token_hash ~ '^[0-9a-f]{64}$')
  )`,
  // The queue the scheduler reads: submitted jobs of one type, best first.
  sql`CREATE INDEX test_jobs_queue ON test_jobs (requested_device_type, priority DESC, submit_time, id)
      WHERE state = 0`,
  sql`CREATE INDEX test_jobs_active_by_device ON test_jobs (actual_device) WHERE state BETWEEN 1 AND 4`,
  sql`CREATE INDEX test_jobs_by_group ON test_jobs (target_group) WHERE target_group IS NOT NULL`,
  sql`CREATE INDEX test_jobs_by_submitter ON test_jobs (submitter_id, id DESC)`,
  sql`CREATE TABLE test_job_tags (
    job_id integer NOT NULL REFERENCES test_jobs (id) ON DELETE CASCADE,
    tag text NOT NULL REFERENCES tags (name),
    PRIMARY KEY (job_id, tag)
  )`,
  sql`CREATE TABLE test_job_viewing_groups (
    job_id integer NOT NULL REFERENCES test_jobs (id) ON DELETE CASCADE,
    group_id integer NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, group_id)
  )`,
  sql`CREATE TABLE test_suites (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id integer NOT NULL REFERENCES test_jobs (id) ON DELETE CASCADE,
    name text NOT NULL,
    UNIQUE (job_id, name)
  )`,
  sql`CREATE TABLE test_sets (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    suite_id integer NOT NULL REFERENCES test_suites (id) ON DELETE CASCADE,
    name text NOT NULL,
    UNIQUE (suite_id, name)
  )`,
  sql`CREATE TABLE test_cases (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    suite_id integer NOT NULL REFERENCES test_suites (id) ON DELETE CASCADE,
    test_set_id integer REFERENCES test_sets (id) ON DELETE CASCADE,
    name text NOT NULL,
    result smallint NOT NULL CHECK (result BETWEEN 0 AND 3),
    measurement numeric(30, 10),
    units text NOT NULL DEFAULT '',
    metadata jsonb,
    start_log_line integer,
    end_log_line integer,
    logged timestamptz NOT NULL DEFAULT now()
  )`,
  sql`CREATE INDEX test_cases_by_suite ON test_cases (suite_id, id)`,
  // One row per log record, numbered by the dispatcher from 0. The key makes a
  // retransmitted batch land once.
  sql`CREATE TABLE job_log_lines (
    job_id integer NOT NULL REFERENCES test_jobs (id),
    line integer NOT NULL CHECK (line >= 0),
    dt timestamptz NOT NULL,
    level text NOT NULL,
    message text NOT NULL,
    PRIMARY KEY (job_id, line)
  )`,
  sql`CREATE TABLE actor_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_kind text NOT NULL CHECK (actor_kind ~ '^[a-z][a-z-]*$'),
    actor_id text NOT NULL,
    sequence integer NOT NULL CHECK (sequence >= 0),
    event_type text NOT NULL,
    state_before text,
    state_after text NOT NULL,
    payload jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (actor_kind, actor_id, sequence)
  )`,
  // History is evidence ("why is this device Bad"), so nothing may rewrite it.
  sql`CREATE FUNCTION basalt_refuse_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'table % is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
    END
  $$`,
  sql`CREATE TRIGGER job_log_lines_append_only BEFORE UPDATE OR DELETE ON job_log_lines
      FOR EACH ROW EXECUTE FUNCTION basalt_refuse_rewrite()`,
  sql`CREATE TRIGGER actor_events_append_only BEFORE UPDATE OR DELETE ON actor_events
      FOR EACH ROW EXECUTE FUNCTION basalt_refuse_rewrite()`,
];

export const migration: Migration = {
  // deno-lint-ignore no-explicit-any
  async up(db: Kysely<any>) {
    for (const statement of statements) await statement.execute(db);
  },
};
