/**
 * What reading the viewer → server RFB stream costs the relay (QoE and idle tracking,
 * dataplane/src/session-qoe.ts): RfbClientScanner over a synthetic but realistic client stream
 * (60 % pointer events, 30 % frame requests, 10 % key events, after the handshake), fed in the
 * chunk sizes a WebSocket hands over (one message per frame, as noVNC mostly sends them; 64 B;
 * 4 KiB), beside a baseline that only sums the same bytes (the
 * least any per-byte look costs). Reports ns per message and MB/s, medians of 5 runs.
 *
 *   node --import tsx bench/relay/qoe-scan.ts [--messages 2000000]
 */
import { RfbClientScanner } from "@streamspace/common/rfb-client-scan";

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
const MESSAGES = Number(arg("messages", "2000000"));

/** The stream, and the same bytes cut at message boundaries (one message per WebSocket frame). */
function stream(): { data: Buffer; messages: Buffer[] } {
  const parts: Buffer[] = [Buffer.from("RFB 003.008\n"), Buffer.from([1, 1])];
  let seed = 42;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  for (let i = 0; i < MESSAGES; i++) {
    const r = rnd();
    if (r < 0.6) parts.push(Buffer.from([5, 0, 1, 2, 3, 4]));
    else if (r < 0.9) parts.push(Buffer.from([3, 1, 0, 0, 0, 0, 5, 0, 3, 32]));
    else parts.push(Buffer.from([4, 1, 0, 0, 0, 0, 0, 0x61]));
  }
  return { data: Buffer.concat(parts), messages: parts };
}

function chunks(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

const { data, messages } = stream();
console.log(
  `stream: ${MESSAGES} messages, ${(data.length / 1e6).toFixed(1)} MB; node ${process.version}`,
);
console.log("chunk B | scanner ns/msg | scanner MB/s | baseline ns/msg | ratio");
for (const size of [0, 64, 4096]) {
  const cs = size === 0 ? messages : chunks(data, size);
  const scan: number[] = [];
  const base: number[] = [];
  for (let run = 0; run < 5; run++) {
    let inputs = 0;
    const s = new RfbClientScanner({ input: () => void inputs++, frameRequest: () => {} });
    let t = process.hrtime.bigint();
    for (const c of cs) s.push(c);
    scan.push(Number(process.hrtime.bigint() - t));
    if (s.lostSync || inputs === 0) throw new Error("the scanner lost the stream");
    let sum = 0;
    t = process.hrtime.bigint();
    for (const c of cs) for (let i = 0; i < c.length; i++) sum += c[i] as number;
    base.push(Number(process.hrtime.bigint() - t));
    if (sum < 0) console.log(sum);
  }
  const ns = median(scan) / MESSAGES;
  const bns = median(base) / MESSAGES;
  console.log(
    `${(size === 0 ? "1 msg" : String(size)).padStart(7)} | ${ns.toFixed(1).padStart(14)} | ${(data.length / (median(scan) / 1e3)).toFixed(0).padStart(12)} | ${bns.toFixed(1).padStart(15)} | ${(ns / bns).toFixed(2)}`,
  );
}
