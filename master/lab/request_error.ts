/** A request from the API names something the lab cannot act on: the status says why (404, 409, 403, 400). */
export class LabRequestError extends Error {
  constructor(message: string, readonly status: 400 | 403 | 404 | 409 = 400) {
    super(message);
    this.name = "LabRequestError";
  }
}
