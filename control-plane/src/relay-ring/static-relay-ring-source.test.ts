import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runRelayRingSourceCases } from "./relay-ring-source-cases.ts";
import { createStaticRelayRingSource, parseRelayUrls } from "./static-relay-ring-source.ts";

runRelayRingSourceCases("static", async (members) => createStaticRelayRingSource(members));

describe("static relay ring source", () => {
  it("parses plain URLs and id=url entries", () => {
    assert.deepEqual(parseRelayUrls("http://a:8081, http://b:8081/"), [
      { id: "relay-1", url: "http://a:8081" },
      { id: "relay-2", url: "http://b:8081" },
    ]);
    assert.deepEqual(parseRelayUrls("r1=http://a:1"), [{ id: "r1", url: "http://a:1" }]);
    const src = createStaticRelayRingSource(parseRelayUrls("http://a:1"));
    assert.equal(src.current().epoch, 1n);
  });

  it("names the variable and entry on bad input", () => {
    assert.throws(() => parseRelayUrls("not a url"), /RELAY_URLS entry "not a url" is invalid/);
    assert.throws(() => parseRelayUrls("ftp://x:1"), /http\(s\)/);
    assert.throws(() => parseRelayUrls("a=http://x:1,a=http://y:1"), /same relay id twice/);
  });
});
