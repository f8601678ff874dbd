/**
 * Artillery processor for the viewer load (viewers.yml): each virtual user is one browser tab
 * opening a desktop. Before the WebSocket opens, `viewerTarget` asks the control plane for a
 * fresh single-use viewer token over tRPC (as the web UI does) and points the socket at
 * `/vnc/{sessionId}?token=…` on the HAProxy relay front. Then `watchFrames` speaks RFB 3.8 as
 * noVNC would (security None, raw encoding, one FramebufferUpdateRequest after each update) for
 * HOLD seconds and reports: token latency, time to the first complete frame, frames and bytes.
 *
 * Environment (set by bench/artillery/artillery.ts): SS_API (control plane base URL), SS_TOKEN
 * (access token), SS_SESSIONS (comma-separated running session ids), SS_HOLD_S.
 */
"use strict";

const SESSIONS = (process.env.SS_SESSIONS || "").split(",").filter(Boolean);

/**
 * Artillery's ws engine resolves its step with the socket on "open" and runs the next step
 * (watchFrames) some turns later; a message that arrives in between is emitted to no listener
 * and lost. The relay sends the RFB greeting as soon as the tunnel is spliced, so under load
 * viewers lost it and waited for bytes that had already come (bench/RESULTS.md, Artillery).
 * So the byte queue is attached when the engine's WebSocket emits "upgrade", which ws does
 * before "open" and before any message, to every socket of the engine's own ws module.
 */
function attachEarly() {
  let WS;
  try {
    WS = (require.main ?? module).require("ws");
  } catch {
    return;
  }
  const emit = WS.prototype.emit;
  if (emit.__rfbEarly) return;
  WS.prototype.emit = function (event, ...args) {
    if (event === "upgrade" && !this.__rfbQueue) this.__rfbQueue = byteQueue(this);
    return emit.call(this, event, ...args);
  };
  WS.prototype.emit.__rfbEarly = true;
}
attachEarly();
const HOLD_MS = Number(process.env.SS_HOLD_S || "10") * 1000;
let next = 0;

async function viewerTarget(wsArgs, context, done) {
  const sessionId = SESSIONS[next++ % SESSIONS.length];
  context.vars.$desktop = SESSIONS.indexOf(sessionId);
  const t0 = performance.now();
  try {
    const res = await fetch(`${process.env.SS_API}/trpc/sessions.viewerToken`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${process.env.SS_TOKEN}`,
      },
      body: JSON.stringify({ sessionId }),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(`viewerToken: HTTP ${res.status} ${JSON.stringify(body)}`);
    context.vars.$tokenMs = performance.now() - t0;
    const { token, viewerPath } = body.result.data;
    const front = wsArgs.target.replace(/\/$/, "");
    wsArgs.target = `${front}${viewerPath.split("?")[0]}?token=${encodeURIComponent(token)}`;
    wsArgs.options = { ...wsArgs.options, perMessageDeflate: false };
    done();
  } catch (err) {
    done(err);
  }
}

/** Reads exactly what RFB framing asks for, from WebSocket messages of any size. */
function byteQueue(ws) {
  // Chunks are kept as they arrive and joined only once a read can be served: joining on every
  // message made each multi-MB raw frame cost O(frame²) copying, which saturated the load
  // generator itself (viewers then "received no bytes" that the relay had sent).
  const chunks = [];
  let size = 0;
  let want = null;
  const stats = { received: 0 };
  ws.on("message", (data) => {
    const b = Buffer.isBuffer(data) ? data : Buffer.from(data);
    stats.received += b.length;
    chunks.push(b);
    size += b.length;
    if (want && size >= want.n) {
      const w = want;
      want = null;
      w.resolve(take(w.n));
    }
  });
  const take = (n) => {
    let out;
    const first = chunks[0];
    if (first && first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) chunks.shift();
      else chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let off = 0;
      while (off < n) {
        const c = chunks[0];
        const k = Math.min(c.length, n - off);
        c.copy(out, off, 0, k);
        off += k;
        if (k === c.length) chunks.shift();
        else chunks[0] = c.subarray(k);
      }
    }
    size -= n;
    return out;
  };
  return {
    stats,
    read(n) {
      if (size >= n) return Promise.resolve(take(n));
      return new Promise((resolve) => {
        want = { n, resolve };
      });
    },
  };
}

function updateRequest(incremental, w, h) {
  const b = Buffer.alloc(10);
  b.writeUInt8(3, 0);
  b.writeUInt8(incremental ? 1 : 0, 1);
  b.writeUInt16BE(w, 6);
  b.writeUInt16BE(h, 8);
  return b;
}

/** Every wait has a deadline: a viewer that never gets its bytes fails instead of hanging. */
const HANDSHAKE_MS = 15_000;

async function watchFrames(context, events) {
  const ws = context.ws;
  // The relay may refuse a viewer (e.g. 4429, the session's viewer limit) before this function
  // runs; a close listener added now would never fire and the refusal would read as "no RFB
  // bytes" 25 s later. Report it as what it is, with its code (ws keeps it on the socket).
  if (ws.readyState >= 2) {
    events.emit("counter", `viewer.closed_before_rfb.${ws._closeCode ?? "unknown"}`, 1);
    throw new Error(`the relay closed the viewer at once: ${ws._closeCode} ${ws._closeMessage}`);
  }
  const raw = ws.__rfbQueue ?? byteQueue(ws);
  events.emit("counter", ws.__rfbQueue ? "viewer.queue_early" : "viewer.queue_late", 1);
  let watching = true;
  const closed = new Promise((resolve) =>
    ws.once("close", (code) => {
      if (watching) events.emit("counter", `viewer.closed_by_relay.${code}`, 1);
      resolve(null);
    }),
  );
  const opened = performance.now();
  const deadline = opened + HANDSHAKE_MS + HOLD_MS;
  const q = {
    async read(n) {
      let timer;
      const late = new Promise((resolve) => {
        timer = setTimeout(() => resolve("late"), Math.max(0, deadline - performance.now()));
      });
      const got = await Promise.race([raw.read(n), closed, late]);
      clearTimeout(timer);
      if (got === "late") {
        // Which desktop, and whether anything at all arrived: tells a stuck tunnel from a
        // slow desktop.
        events.emit("counter", `viewer.late.desktop_${context.vars.$desktop}`, 1);
        events.emit("counter", `viewer.late.${raw.stats.received ? "some" : "no"}_bytes`, 1);
        throw new Error("no RFB bytes before the deadline");
      }
      if (got === null) throw new Error("the relay closed the viewer");
      return got;
    },
  };
  events.emit("histogram", "viewer.token_ms", context.vars.$tokenMs);
  const version = (await q.read(12)).toString();
  if (!version.startsWith("RFB 003.")) throw new Error(`not an RFB server: ${version}`);
  ws.send(Buffer.from("RFB 003.008\n"));
  const types = await q.read((await q.read(1))[0]);
  if (!types.includes(1)) throw new Error("the server does not offer security None");
  ws.send(Buffer.from([1]));
  if ((await q.read(4)).readUInt32BE(0) !== 0) throw new Error("RFB security failed");
  ws.send(Buffer.from([1])); // ClientInit: shared
  const init = await q.read(24);
  const [w, h, bpp] = [init.readUInt16BE(0), init.readUInt16BE(2), init[4]];
  await q.read(init.readUInt32BE(20)); // desktop name
  const enc = Buffer.alloc(8);
  enc.writeUInt8(2, 0);
  enc.writeUInt16BE(1, 2);
  enc.writeInt32BE(0, 4); // raw only: every rectangle is w*h pixels
  ws.send(enc);
  ws.send(updateRequest(false, w, h));
  let frames = 0;
  let bytes = 0;
  let first;
  const until = opened + HOLD_MS;
  for (;;) {
    const left = until - performance.now();
    if (left <= 0) break;
    let t;
    const timer = new Promise((resolve) => {
      t = setTimeout(() => resolve("time"), left);
    });
    const head = await Promise.race([raw.read(1), closed, timer]);
    clearTimeout(t);
    if (head === "time") break;
    if (!head) throw new Error("the relay closed the viewer");
    const type = head[0];
    if (type === 0) {
      const rects = (await q.read(3)).readUInt16BE(1);
      for (let i = 0; i < rects; i++) {
        const r = await q.read(12);
        const encoding = r.readInt32BE(8);
        if (encoding !== 0) throw new Error(`unexpected encoding ${encoding}`);
        const n = r.readUInt16BE(4) * r.readUInt16BE(6) * (bpp / 8);
        if (n) await q.read(n);
        bytes += 12 + n;
      }
      frames++;
      if (first === undefined) {
        first = performance.now() - opened;
        events.emit("histogram", "viewer.first_frame_ms", first);
      }
      ws.send(updateRequest(true, w, h));
    } else if (type === 1) {
      const n = (await q.read(5)).readUInt16BE(3);
      await q.read(n * 6);
    } else if (type === 2) {
      // bell: no payload
    } else if (type === 3) {
      await q.read((await q.read(7)).readUInt32BE(3));
    } else {
      throw new Error(`unknown RFB server message ${type}`);
    }
  }
  watching = false;
  events.emit("counter", "viewer.frames", frames);
  events.emit("counter", "viewer.bytes", bytes);
  events.emit("counter", "viewer.completed", 1);
  events.emit("histogram", "viewer.fps", (frames * 1000) / HOLD_MS);
}

module.exports = { viewerTarget, watchFrames };
