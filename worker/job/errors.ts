/**
 * LAVA's error classes, which decide a job's health: every failure of a job ends
 * as one of these, and its `errorType` is what results and the server record.
 * Bug, Configuration and Infrastructure errors are the lab's fault (the device's
 * health becomes Unknown); the others are the job's.
 */
export type ErrorType =
  | "Infrastructure"
  | "Job"
  | "Test"
  | "Bug"
  | "Configuration"
  | "LAVATimeout"
  | "MultinodeTimeout"
  | "Canceled";

export class JobFailure extends Error {
  readonly errorType: ErrorType = "Bug";
}

/** The lab failed the job: a download server, a power switch, a serial line. */
export class InfrastructureError extends JobFailure {
  override readonly errorType = "Infrastructure";
  override name = "InfrastructureError";
}

/** The serial or network connection to the device closed under the job. */
export class ConnectionClosedError extends InfrastructureError {
  override name = "ConnectionClosedError";
}

/** The job asked for something that cannot be done: a bad URL, a checksum that does not match, a timeout. */
export class JobError extends JobFailure {
  override readonly errorType = "Job";
  override name = "JobError";
}

/** A test said the job must stop (`lava-test-raise`). */
export class TestError extends JobFailure {
  override readonly errorType = "Test";
  override name = "TestError";
}

/** The device's configuration cannot run this job. */
export class ConfigurationError extends JobFailure {
  override readonly errorType = "Configuration";
  override name = "ConfigurationError";
}

/** The test shell ran out of time. */
export class LAVATimeoutError extends JobFailure {
  override readonly errorType = "LAVATimeout";
  override name = "LAVATimeoutError";
}

export class MultinodeProtocolTimeoutError extends JobFailure {
  override readonly errorType = "MultinodeTimeout";
  override name = "MultinodeProtocolTimeoutError";
}

export class JobCanceled extends JobFailure {
  override readonly errorType = "Canceled";
  override name = "JobCanceled";
}

/** Anything unexpected is a bug in Basalt, reported as LAVA reports LAVABug. */
export function asJobFailure(error: unknown): JobFailure {
  if (error instanceof JobFailure) return error;
  const failure = new JobFailure(error instanceof Error ? error.message : String(error), { cause: error });
  failure.name = "LAVABug";
  return failure;
}

/** Whether an error type is the lab's fault rather than the job's. */
export function isInfrastructureErrorType(type: string | null | undefined): boolean {
  return type === "Infrastructure" || type === "Bug" || type === "Configuration";
}
