/**
 * The XML-RPC wire codec behind the master's `/RPC2` endpoint. LAVA's clients
 * (`lavacli`, and scripts built on Python's `xmlrpc.client`) speak only XML-RPC, so
 * Basalt must read and write exactly what Python writes and reads. The request body
 * is untrusted, which is why this carries its own small XML reader: it needs no
 * DTDs or namespaces, must run in linear time and must refuse deep nesting instead
 * of overflowing the stack.
 *
 * The pieces: `xmlrpc/values.ts` (what values are), `xmlrpc/xml_reader.ts` (the
 * XML reader), `xmlrpc/decode.ts` (elements to values) and `xmlrpc/encode.ts`
 * (values to documents).
 *
 * ```ts
 * const { method, params } = parseMethodCall(body);
 * return serializeResponse(await callMethod(ctx, method, params));
 * ```
 */
export {
  MAX_VALUE_DEPTH,
  XmlRpcDouble,
  type XmlRpcInput,
  XmlRpcParseError,
  type XmlRpcResponse,
  type XmlRpcValue,
} from "./xmlrpc/values.ts";
export { parseMethodCall, parseMethodResponse } from "./xmlrpc/decode.ts";
export { serializeFault, serializeMethodCall, serializeResponse } from "./xmlrpc/encode.ts";
