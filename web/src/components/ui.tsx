/**
 * Small shared pieces every page uses, so loading, error and empty states look the same
 * everywhere and a page never renders a blank area while it waits.
 */
import type { ReactNode } from "react";
import { errorMessage } from "../trpc.ts";

/** A spinner with words, for screen readers and people alike. */
export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="state-box" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}

/** An error with the server's sentence and an optional retry. */
export function ErrorBox({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  return (
    <div className="alert alert-error" role="alert">
      <span>{errorMessage(error)}</span>
      {onRetry && (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

/** The "nothing here yet" card, with the next step as its action. */
export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <div className="empty-icon" aria-hidden="true">
        ◌
      </div>
      <h3>{title}</h3>
      {children}
    </div>
  );
}

const TONE: Record<string, string> = {
  running: "ok",
  online: "ok",
  connected: "ok",
  pending: "wait",
  scheduled: "wait",
  starting: "wait",
  waking: "wait",
  connecting: "wait",
  reconnecting: "wait",
  hibernating: "wait",
  stopping: "wait",
  draining: "warn",
  hibernated: "idle",
  stopped: "idle",
  offline: "idle",
  disconnected: "idle",
  failed: "bad",
  revoked: "bad",
};

/** A colored pill for any lifecycle or connection state. */
export function StateBadge({ state }: { state: string }) {
  const tone = TONE[state] ?? "idle";
  return (
    <span className={`badge badge-${tone}`} data-state={state}>
      <span className="dot" aria-hidden="true" />
      {state}
    </span>
  );
}

/** "3 min ago" style times; exact time in the tooltip. */
export function Ago({ iso }: { iso: string }) {
  if (!iso) return <span className="muted">never</span>;
  const t = Date.parse(iso);
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  const text =
    s < 60
      ? `${s}s ago`
      : s < 3600
        ? `${Math.round(s / 60)} min ago`
        : s < 86400
          ? `${Math.round(s / 3600)} h ago`
          : new Date(t).toLocaleDateString();
  return (
    <time dateTime={iso} title={new Date(t).toLocaleString()}>
      {text}
    </time>
  );
}

/** Human sizes for template resources. */
export function formatResources(cpuMillis: number, memoryBytes: number): string {
  const cpu = cpuMillis ? `${(cpuMillis / 1000).toFixed(cpuMillis % 1000 ? 1 : 0)} CPU` : "";
  const mem = memoryBytes ? `${Math.round(memoryBytes / 2 ** 20)} MiB` : "";
  return [cpu, mem].filter(Boolean).join(" · ") || "default size";
}

/**
 * A reason as a sentence: reasons come from agents, drivers and the control plane as short
 * clauses ("reported stopped by agent"), and the page shows them after other sentences.
 */
export function sentence(text: string): string {
  const t = text.trim();
  if (!t) return "";
  const first = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?…]$/.test(first) ? first : `${first}.`;
}

/**
 * Why a session is in its state. Most reasons are routine ("stop requested") and read as
 * plain muted text; only a failed session's reason is a problem and gets the alarm colour.
 */
export function Reason({ state, reason }: { state: string; reason: string }) {
  if (!reason) return null;
  const problem = state === "failed";
  return (
    <p className={`reason small ${problem ? "reason-problem" : ""}`} data-problem={problem}>
      {sentence(reason)}
    </p>
  );
}

/** The page a signed-in person without the role sees instead of a staff page. */
export function StaffOnly({ needs }: { needs: "operator" | "admin" }) {
  return (
    <div className="alert alert-error" role="alert">
      This page is for {needs === "admin" ? "admins" : "operators and admins"}. Ask an admin if you
      need access.
    </div>
  );
}
