/**
 * A job's definition as each caller may read it, and submitting it again: a
 * job's secrets are whole only for its submitter and administrators, masked
 * for anyone else who may see the job, and never resubmitted by someone else.
 */
import type { Lab } from "../lab/lab.ts";
import { LabRequestError } from "../lab/request_error.ts";
import type { SubmittedJob } from "../lab/submission.ts";
import { maskSecrets, secretNames } from "../lab/visibility.ts";
import { assertVisible, resolveJobId, type Viewer } from "./access.ts";
import { isSubmitter, mayCancel } from "./jobs.ts";

/**
 * A job's definition as `viewer` may read it: whole for its submitter and administrators; with its secrets'
 * values masked for anyone else who may see the job (a member of its group, or anyone for a public job).
 */
export async function definitionFor(lab: Lab, id: number, viewer: Viewer | undefined): Promise<string> {
  await assertVisible(lab, id, viewer);
  const text = await jobDefinition(lab, id);
  if (viewer?.is_superuser || await isSubmitter(lab, id, viewer)) return text;
  return maskSecrets(text);
}

/**
 * Submits a job's definition again as `user`: the one path the web UI, XML-RPC and the JSON API share. The job
 * must be one the user may see; one with secrets only its submitter or an administrator may resubmit, as the copy
 * would otherwise carry someone else's secrets (or, masked, run with none).
 */
export async function resubmitJob(
  lab: Lab,
  given: unknown,
  user: Viewer & { readonly username: string },
): Promise<SubmittedJob[]> {
  const id = await resolveJobId(lab, given);
  await assertVisible(lab, id, user);
  const text = await jobDefinition(lab, id);
  if (!user.is_superuser && !await isSubmitter(lab, id, user) && secretNames(text).length > 0) {
    throw new LabRequestError(
      `Job '${id}' has secrets: only its submitter or an administrator may resubmit it; submit a copy with your own.`,
      403,
    );
  }
  return await lab.submit(text, { id: user.id, username: user.username, is_superuser: user.is_superuser });
}

/**
 * What a job's page offers `user`, who sees `shown` as its definition: cancelling to its submitter and
 * administrators, resubmitting to anyone logged in unless the job has secrets that are not theirs.
 */
export async function jobActions(
  lab: Lab,
  id: number,
  user: Viewer | undefined,
  shown: string,
): Promise<{ readonly cancel: boolean; readonly resubmit: boolean }> {
  const cancel = !!user && await mayCancel(lab, id, user);
  return { cancel, resubmit: !!user && (cancel || secretNames(shown).length === 0) };
}

/** A job's definition as submitted (a MultiNode job's whole definition), with nothing masked. */
export async function jobDefinition(lab: Lab, id: number): Promise<string> {
  const row = await lab.db.selectFrom("test_jobs").select(["original_definition", "definition", "multinode_definition"])
    .where("id", "=", id).executeTakeFirst();
  if (!row) throw new LabRequestError(`Job '${id}' was not found.`, 404);
  return row.multinode_definition || row.original_definition || row.definition;
}
