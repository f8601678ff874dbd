/**
 * The relay end of an agent's raw TCP data channel: a connection to the relay's port that
 * starts with DATA_CHANNEL_PREFACE and a tunnel's single-use secret. Once the registry binds it
 * to the waiting tunnel, the relay answers one ACK byte and the socket stays paused until the
 * viewer splice reads it; anything else (wrong or replayed secret, slow header) is dropped.
 */
import type { Socket } from "node:net";
import { DATA_CHANNEL_ACK, DATA_CHANNEL_PREFACE } from "@streamspace/common/tunnel-wire";
import { type AgentRegistry, DATA_SECRET_BYTES } from "./agent-registry.ts";

const HEADER_BYTES = DATA_CHANNEL_PREFACE.length + DATA_SECRET_BYTES;
/** The whole header must arrive within this. */
const HEADER_DEADLINE_MS = 2_000;

/** True when a connection's first bytes start a data channel. */
export function isDataChannel(first: Buffer): boolean {
  return first.length > 0 && first[0] === DATA_CHANNEL_PREFACE[0];
}

/** Reads the header from `first` (and more if needed), then binds or drops the socket. */
export function acceptDataChannel(socket: Socket, first: Buffer, registry: AgentRegistry): void {
  let got = first;
  const timer = setTimeout(() => socket.destroy(), HEADER_DEADLINE_MS);
  const decide = (): boolean => {
    if (got.length < HEADER_BYTES) return false;
    clearTimeout(timer);
    socket.off("data", onData);
    socket.pause();
    const ok =
      got.subarray(0, DATA_CHANNEL_PREFACE.length).equals(DATA_CHANNEL_PREFACE) &&
      registry.attachDataChannel(
        Buffer.from(got.subarray(DATA_CHANNEL_PREFACE.length, HEADER_BYTES)),
        socket,
      );
    if (!ok) {
      socket.destroy();
      return true;
    }
    if (got.length > HEADER_BYTES) socket.unshift(got.subarray(HEADER_BYTES));
    socket.write(Buffer.from([DATA_CHANNEL_ACK]));
    return true;
  };
  const onData = (chunk: Buffer) => {
    got = Buffer.concat([got, chunk]);
    decide();
  };
  if (!decide()) {
    socket.on("data", onData);
    socket.resume();
  }
}
