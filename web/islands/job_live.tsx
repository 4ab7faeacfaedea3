/**
 * A job's state, health, device and times, kept current from the event stream,
 * with the cancel and resubmit buttons for those allowed to use them.
 */
import { useEffect, useState } from "preact/hooks";
import { Badge, formatTime } from "../components/badge.tsx";

export interface JobLiveProps {
  id: string;
  state: string;
  health: string;
  device: string | null;
  deviceType: string | null;
  submitter: string;
  submitTime: string;
  startTime: string | null;
  endTime: string | null;
  failure: string | null;
  canCancel: boolean;
  canResubmit: boolean;
  /** For the forms, which work without JavaScript too. */
  csrf: string;
}

export default function JobLive(initial: JobLiveProps) {
  const [job, setJob] = useState(initial);
  const [message, setMessage] = useState("");
  useEffect(() => {
    const source = new EventSource("/api/v1/events");
    source.addEventListener("testjob", (e) => {
      const d = JSON.parse((e as MessageEvent).data).data;
      if (String(d.job) !== job.id) return;
      setJob((j) => ({
        ...j,
        state: d.state,
        health: d.health,
        device: d.device ?? j.device,
        startTime: d.start_time ?? j.startTime,
        endTime: d.end_time ?? j.endTime,
      }));
    });
    return () => source.close();
  }, []);
  const post = async (action: "cancel" | "resubmit") => {
    setMessage(action === "cancel" ? "Cancelling…" : "Resubmitting…");
    const response = await fetch(`/api/v1/jobs/${job.id}/${action}`, {
      method: "POST",
      headers: { "X-CSRF-Token": job.csrf },
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) return setMessage(body.error ?? `failed (${response.status})`);
    if (action === "resubmit" && body.job_ids?.[0]) location.href = `/jobs/${body.job_ids[0]}`;
    else setMessage("Cancel requested");
  };
  const finished = job.state === "Finished";
  return (
    <div class="job-live">
      <dl class="facts">
        <dt>State</dt>
        <dd data-testid="job-state">
          <Badge value={job.state} />
        </dd>
        <dt>Health</dt>
        <dd data-testid="job-health">
          <Badge value={job.health} />
        </dd>
        <dt>Device</dt>
        <dd>{job.device ? <a href={`/devices/${job.device}`}>{job.device}</a> : "—"} ({job.deviceType ?? "?"})</dd>
        <dt>Submitter</dt>
        <dd>{job.submitter}</dd>
        <dt>Submitted</dt>
        <dd>{formatTime(job.submitTime)}</dd>
        <dt>Started</dt>
        <dd>{formatTime(job.startTime)}</dd>
        <dt>Ended</dt>
        <dd>{formatTime(job.endTime)}</dd>
        {job.failure && (
          <>
            <dt>Failure</dt>
            <dd class="failure">{job.failure}</dd>
          </>
        )}
      </dl>
      <div class="actions">
        {job.canCancel && !finished && (
          <form
            method="post"
            action={`/web/jobs/${job.id}/cancel`}
            onSubmit={(e) => (e.preventDefault(), post("cancel"))}
          >
            <input type="hidden" name="csrf" value={job.csrf} />
            <button type="submit" class="danger">Cancel job</button>
          </form>
        )}
        {job.canResubmit && (
          <form
            method="post"
            action={`/web/jobs/${job.id}/resubmit`}
            onSubmit={(e) => (e.preventDefault(), post("resubmit"))}
          >
            <input type="hidden" name="csrf" value={job.csrf} />
            <button type="submit">Resubmit</button>
          </form>
        )}
        <span role="status" aria-live="polite">{message}</span>
      </div>
    </div>
  );
}
