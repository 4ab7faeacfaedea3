/**
 * LAVA's XML-RPC endpoint, `/RPC2` (and `/RPC2/`): reads the call within its
 * body limit (smaller for anonymous callers, who only read), runs the method
 * and answers with its value or LAVA's fault. Every answer is HTTP 200 except
 * a body over its limit (413 with a fault), as lavacli reads faults.
 */
import type { Context, Hono } from "hono";
import type { Lab } from "../lab/lab.ts";
import type { HttpEnv } from "./env.ts";
import { BODY_LIMITS, BodyTooLargeError, readBodyText } from "./body.ts";
import { callMethod, RpcFault } from "./rpc.ts";
import { parseMethodCall, serializeFault, serializeResponse, XmlRpcParseError } from "./xmlrpc.ts";

/** An XML-RPC document as the answer. */
export function xmlBody(c: Context, body: string, status: 200 | 413 = 200): Response {
  // lavacli decodes the body as Latin-1 unless the charset is given.
  return c.body(body, status, { "Content-Type": "text/xml; charset=utf-8" });
}

export function rpcRoute(app: Hono<HttpEnv>, lab: Lab, eventSocket: string): void {
  const rpc = async (c: Context<HttpEnv>) => {
    let call;
    try {
      const limit = c.get("user") ? BODY_LIMITS.rpc : BODY_LIMITS.rpcAnonymous;
      call = parseMethodCall(await readBodyText(c.req.raw, limit));
    } catch (error) {
      if (error instanceof XmlRpcParseError) {
        return xmlBody(c, serializeFault(400, `bad XML-RPC request: ${error.message}`));
      }
      // lavacli reads faults, other clients the status: both say what happened.
      if (error instanceof BodyTooLargeError) return xmlBody(c, serializeFault(413, error.message), 413);
      throw error;
    }
    try {
      const value = await callMethod({ lab, user: c.get("user"), eventSocket }, call.method, call.params);
      return xmlBody(c, serializeResponse(value));
    } catch (error) {
      if (error instanceof RpcFault) return xmlBody(c, serializeFault(error.code, error.message));
      console.error("XML-RPC method failed", call.method, error);
      return xmlBody(c, serializeFault(500, `internal error in ${call.method}: ${(error as Error).message}`));
    }
  };
  app.post("/RPC2", rpc);
  app.post("/RPC2/", rpc);
}
