import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TEST_SCRYPT } from "./auth-test-kit.ts";
import { hashPassword, verifyPassword } from "./passwords.ts";

describe("passwords", () => {
  it("verifies the right password and refuses a wrong one", async () => {
    const h = await hashPassword("correct horse battery", TEST_SCRYPT);
    assert.equal(await verifyPassword("correct horse battery", h), true);
    assert.equal(await verifyPassword("correct horse batterY", h), false);
    assert.equal(await verifyPassword("", h), false);
  });

  it("salts every hash and carries the parameters in the string", async () => {
    const a = await hashPassword("same password", TEST_SCRYPT);
    const b = await hashPassword("same password", TEST_SCRYPT);
    assert.notEqual(a, b);
    assert.match(a, /^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    // A hash made with other parameters still verifies, because they travel with it.
    const strong = await hashPassword("same password", { N: 2048, r: 8, p: 1 });
    assert.equal(await verifyPassword("same password", strong), true);
  });

  it("the default parameters are the production ones", async () => {
    const h = await hashPassword("pw-default-params");
    assert.match(h, /^scrypt\$32768\$8\$1\$/);
    assert.equal(await verifyPassword("pw-default-params", h), true);
  });

  it("reads a malformed stored hash as a mismatch, never a crash", async () => {
    for (const bad of [
      "",
      "plain",
      "scrypt$x$8$1$c2FsdA$aGFzaA",
      "bcrypt$1$2$3$4$5",
      "scrypt$1024$8$1$$",
    ]) {
      assert.equal(await verifyPassword("pw", bad), false, bad);
    }
  });

  it("normalises Unicode so the same visible password always matches", async () => {
    const h = await hashPassword("caf\u00e9-password", TEST_SCRYPT);
    assert.equal(await verifyPassword("cafe\u0301-password", h), true);
  });
});
