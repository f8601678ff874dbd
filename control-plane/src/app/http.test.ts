import assert from "node:assert/strict";
import { connect } from "node:net";
import { test } from "node:test";
import { freePort } from "@streamspace/common/testing";
import { startTestControlPlane } from "../testing/test-control-plane.ts";

test("/vnc/ upgrades to an unreachable relay are answered 502, not left hanging", async () => {
  const nobody = await freePort();
  await using t = await startTestControlPlane({
    env: { VNC_RELAY_PROXY: `http://127.0.0.1:${nobody}` },
  });
  const reply = await new Promise<string>((resolve, reject) => {
    const s = connect(t.cp.port, "127.0.0.1", () =>
      s.write(
        "GET /vnc/00000000-0000-4000-8000-000000000000?token=x HTTP/1.1\r\n" +
          "host: localhost\r\nconnection: upgrade\r\nupgrade: websocket\r\n" +
          "sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      ),
    );
    let got = "";
    s.on("data", (d) => {
      got += d.toString("latin1");
    });
    s.on("close", () => resolve(got));
    s.on("error", reject);
  });
  assert.match(reply, /^HTTP\/1\.1 502 /);
});
