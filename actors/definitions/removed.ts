/**
 * What LAVA 2023.01 accepted and Basalt does not run because LAVA has since
 * dropped it: such a job is a valid definition (`jobs validate` says so, as
 * LAVA 2023.01 does) and is refused at submission with the reason and what to
 * use instead — never an "unknown action" schema error.
 *
 * ```ts
 * for (const { path, message } of removedFeatures(job)) console.log(formatPath(path), message);
 * ```
 */
import { isMapping } from "./schema.ts";
import type { PathSegment } from "./yaml.ts";

export interface RemovedFeature {
  /** Where in the job, for the diagnostic's line and column. */
  readonly path: readonly PathSegment[];
  readonly message: string;
}

const LXC = "LXC is no longer supported (LAVA 2023.01 ran it; later LAVA and Basalt do not): run the tools in a " +
  "docker container instead (deploy to: docker, boot method: docker, or a test action's docker: image)";

/** The features of `job` that LAVA dropped after 2023.01, each with where it is and why it is refused. */
export function removedFeatures(job: unknown): RemovedFeature[] {
  if (!isMapping(job)) return [];
  const found: RemovedFeature[] = [];
  if (isMapping(job.protocols) && "lava-lxc" in job.protocols) {
    found.push({ path: ["protocols", "lava-lxc"], message: LXC });
  }
  const actions = Array.isArray(job.actions) ? job.actions : [];
  actions.forEach((action, index) => {
    if (!isMapping(action)) return;
    if (isMapping(action.deploy) && action.deploy.to === "lxc") {
      found.push({ path: ["actions", index, "deploy", "to"], message: LXC });
    }
    if (isMapping(action.boot) && action.boot.method === "lxc") {
      found.push({ path: ["actions", index, "boot", "method"], message: LXC });
    }
  });
  return found;
}
