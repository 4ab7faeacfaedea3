import { assertEquals } from "../../tests/support/assert.ts";
import { testOnBothBackends } from "../../tests/support/storage.ts";
import type { Lab } from "../lab/lab.ts";
import { addUser, updateUser } from "../storage/users.ts";
import { createApp } from "./app.ts";
import { Sessions } from "./sessions.ts";

const PROXY = { header: "X-Remote-User", address: "10.0.0.5" };

testOnBothBackends("single sign-on behind a reverse proxy", [
  {
    name: "the proxy's user header counts from the proxy's address only, for active users, while it is sent",
    async fn(fx) {
      const { db } = await fx.open();
      await addUser(db, { username: "alice" });
      const sessions = new Sessions({ db });
      const app = createApp({ lab: { db } as unknown as Lab, eventSocket: "", sessions, proxyLogin: PROXY });
      const whoami = async (from: string, headers: Record<string, string>) => {
        const response = await app.fetch(new Request("http://master/api/v1/system/whoami", { headers }), {
          remoteAddr: { transport: "tcp", hostname: from, port: 40000 },
        });
        return { user: (await response.json()).user, cookie: response.headers.get("Set-Cookie")?.split(";")[0] };
      };
      const fromProxy = await whoami("10.0.0.5", { "X-Remote-User": "alice" });
      assertEquals(fromProxy.user, "alice");
      assertEquals((await whoami("10.0.0.9", { "X-Remote-User": "alice" })).user, null, "not from the proxy");
      assertEquals((await whoami("10.0.0.5", { "X-Remote-User": "mallory" })).user, null, "no such user");
      const cookie = fromProxy.cookie!;
      assertEquals((await whoami("10.0.0.5", { "X-Remote-User": "alice", Cookie: cookie })).user, "alice");
      assertEquals((await whoami("10.0.0.5", { Cookie: cookie })).user, null, "the proxy stopped naming her");
      const again = (await whoami("10.0.0.5", { "X-Remote-User": "alice" })).cookie!;
      await updateUser(db, "alice", { active: false });
      assertEquals((await whoami("10.0.0.5", { "X-Remote-User": "alice", Cookie: again })).user, null, "deactivated");
      const off = createApp({ lab: { db } as unknown as Lab, eventSocket: "", sessions: new Sessions({ db }) });
      await updateUser(db, "alice", { active: true });
      const response = await off.fetch(
        new Request("http://master/api/v1/system/whoami", { headers: { "X-Remote-User": "alice" } }),
        { remoteAddr: { transport: "tcp", hostname: "10.0.0.5", port: 40000 } },
      );
      assertEquals((await response.json()).user, null, "off unless configured");
    },
  },
]);
