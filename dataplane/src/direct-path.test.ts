/** RELAY_DIRECT_NETS decides which announced VNC hosts a relay may dial itself. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDirectNets } from "./direct-path.ts";

describe("parseDirectNets", () => {
  it("allows addresses inside the listed networks only", () => {
    const allowed = parseDirectNets("10.0.0.0/8, 192.168.1.7, fd00::/8");
    assert.equal(typeof allowed, "function");
    const ok = allowed as (h: string) => boolean;
    assert.equal(ok("10.1.2.3"), true);
    assert.equal(ok("192.168.1.7"), true);
    assert.equal(ok("192.168.1.8"), false);
    assert.equal(ok("fd12::1"), true);
    assert.equal(ok("11.0.0.1"), false);
    // Names are never dialled: a name could resolve anywhere.
    assert.equal(ok("localhost"), false);
    assert.equal(ok(""), false);
  });

  it("allows nothing when empty", () => {
    const none = parseDirectNets("") as (h: string) => boolean;
    assert.equal(none("127.0.0.1"), false);
  });

  it("names the entry it cannot read", () => {
    assert.match(String(parseDirectNets("10.0.0.0/8,10.0.0.0/40")), /"10.0.0.0\/40" is not/);
    assert.match(String(parseDirectNets("pods")), /"pods" is not an IP address or CIDR/);
  });
});
