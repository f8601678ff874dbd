/**
 * Quickstart: sign in, launch the demo desktop, follow it to running, print its viewer URL,
 * stop it, count the sessions visible.
 *
 *   STREAMSPACE_URL=http://127.0.0.1:8080 STREAMSPACE_PASSWORD=… node --import tsx sdk/ts/examples/quickstart.ts
 *
 * With STREAMSPACE_API_KEY set instead of a password, the key is used. In your own project the
 * import is `from "@streamspace/sdk"`.
 */
import { collect, createStreamSpaceClient, isStreamSpaceError, SessionState } from "../src/node.ts";

const url = process.env.STREAMSPACE_URL ?? "http://127.0.0.1:8080";
const apiKey = process.env.STREAMSPACE_API_KEY;
const client = createStreamSpaceClient({ baseUrl: url, apiKey });

try {
  if (!apiKey) {
    await client.signIn(
      process.env.STREAMSPACE_USER ?? "admin",
      process.env.STREAMSPACE_PASSWORD ?? "",
    );
  }
  const { session } = await client.sessions.createSession({ template: "demo-desktop" });
  console.log("created", session!.id);
  for await (const { session: s } of client.watchSessions({ sessionId: session!.id })) {
    console.log("state", SessionState[s.state]);
    if (s.state === SessionState.RUNNING) {
      console.log("viewer", `${url}${s.viewerPath}`);
      break; // ends the watch
    }
  }
  await client.sessions.stopSession({ id: session!.id });
  console.log("sessions visible:", (await collect(client.listSessions())).length);
} catch (err) {
  if (!isStreamSpaceError(err)) throw err;
  console.error(`${err.codeName}: ${err.rawMessage}`); // e.g. a wrong password
  process.exitCode = 1;
}
