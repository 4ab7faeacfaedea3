/**
 * The values XML-RPC carries, as the codec reads and writes them, and the
 * bounds on how deep they nest.
 */

/** A decoded XML-RPC value. `<struct>` becomes a plain object, `<base64>` a Uint8Array. */
export type XmlRpcValue =
  | null
  | boolean
  | number
  | string
  | Date
  | Uint8Array
  | XmlRpcValue[]
  | { [key: string]: XmlRpcValue };

/** Forces `<double>` for a number that happens to be integral (JS cannot tell 3 from 3.0). */
export class XmlRpcDouble {
  constructor(readonly value: number) {}
}

/**
 * What the serialisers accept: XmlRpcValue plus XmlRpcDouble anywhere, and
 * `undefined` so that objects with optional fields can be passed as they are.
 */
export type XmlRpcInput =
  | undefined
  | null
  | boolean
  | number
  | string
  | Date
  | Uint8Array
  | XmlRpcDouble
  | readonly XmlRpcInput[]
  | { readonly [key: string]: XmlRpcInput };

/** The request body is not a well-formed XML-RPC document; the message says why and where. */
export class XmlRpcParseError extends Error {
  override name = "XmlRpcParseError";
}

/** A decoded `<methodResponse>`: either the single result or the fault the server raised. */
export type XmlRpcResponse =
  | { kind: "value"; value: XmlRpcValue }
  | { kind: "fault"; code: number; message: string };

/** How deep values may nest, in both directions; far beyond anything LAVA's API returns. */
export const MAX_VALUE_DEPTH = 64;
