// Preloaded into the shared relaybench client (node --require) so its single --url becomes one
// session and one fresh single-use viewer token per connection: ws://…/vnc/bench becomes
// ws://…/vnc/bench-<k>?token=<token k>, tokens read from BENCH_TOKENS_FILE (JSON array).
// The client itself stays unmodified, so its numbers compare 1:1 with the baseline.
"use strict";
const Module = require("node:module");
const fs = require("node:fs");

const tokens = JSON.parse(fs.readFileSync(process.env.BENCH_TOKENS_FILE, "utf8"));
let next = 0;
const load = Module._load;
Module._load = function (request, parent, isMain) {
  const mod = load.call(this, request, parent, isMain);
  if (request !== "ws") return mod;
  class TokenWebSocket extends mod {
    constructor(url, ...rest) {
      const k = next++;
      const t = tokens[k];
      if (!t) throw new Error(`bench shim: no token for connection ${k}; mint more`);
      super(String(url).replace(/\/vnc\/bench\/?$/, `/vnc/${t.sid}?token=${t.token}`), ...rest);
    }
  }
  return TokenWebSocket;
};
