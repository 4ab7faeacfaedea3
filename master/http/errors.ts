/**
 * Which failures are the client's: a request that names something unknown, a
 * value the lab's rules refuse, a device configuration a superuser sent that
 * does not render. Both APIs answer these with a 4xx (or LAVA's fault code) and
 * do not log them as the master's own failures; anything else is a 500, logged.
 */
import { UnknownCodeError } from "../../actors/domain/codes.ts";
import { LabRequestError } from "../lab/request_error.ts";
import { DeviceConfigurationError } from "../lab/lab_dir.ts";
import { SubmissionError } from "../lab/submission.ts";
import { AlreadyExistsError, InvalidValueError, NotFoundError, sqlState } from "../storage/errors.ts";
import { PasswordError } from "../storage/passwords.ts";
import { BodyTooLargeError } from "./body.ts";

export type ClientErrorStatus = 400 | 403 | 404 | 409 | 413;

/** The status a client's mistake is answered with, or undefined when the failure is the master's. */
export function clientErrorStatus(error: unknown): ClientErrorStatus | undefined {
  if (error instanceof LabRequestError) return error.status;
  if (error instanceof BodyTooLargeError) return 413;
  if (error instanceof AlreadyExistsError) return 409;
  if (error instanceof NotFoundError) return 404;
  if (
    error instanceof SubmissionError || error instanceof UnknownCodeError || error instanceof InvalidValueError ||
    error instanceof DeviceConfigurationError || error instanceof PasswordError
  ) return 400;
  // A value PostgreSQL's text cannot hold (NUL, bytes not UTF-8) that no check before it caught: still the caller's.
  if (sqlState(error) === "22021" || sqlState(error) === "22P05") return 400;
  return undefined;
}

/** A request the HTTP layer itself refuses (no user, not allowed, a body that is not JSON); answered as JSON. */
export class HttpError extends Error {
  constructor(readonly status: 400 | 401 | 403, message: string) {
    super(message);
  }
}
