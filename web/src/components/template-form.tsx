/**
 * The template editor: every field of a template, in the units people think in (MiB, lines
 * of KEY=value), turned into exactly what the API takes. Validation is the server's: a bad
 * field comes back as the domain's sentence ("name: must be lowercase letters, …") and is
 * shown above the buttons, so the console never disagrees with the Connect API.
 */
import type { AppRouter } from "@streamspace/control-plane/trpc-router";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import { type FormEvent, useState } from "react";
import { ErrorBox } from "./ui.tsx";

export type TemplateView = inferRouterOutputs<AppRouter>["templates"]["list"]["templates"][number];
type TemplateInput = inferRouterInputs<AppRouter>["templates"]["create"];
type Platform = TemplateInput["platform"];

const MIB = 2 ** 20;

interface Draft {
  name: string;
  displayName: string;
  description: string;
  image: string;
  command: string;
  vncPort: string;
  cpuMillis: string;
  memoryMiB: string;
  env: string;
  idleTimeoutSeconds: string;
  persistentHome: boolean;
  platform: Platform;
  region: string;
  requiredLabels: string;
}

const pairs = (m: Record<string, string>) =>
  Object.entries(m)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n");

function draftOf(t?: TemplateView): Draft {
  return {
    name: t?.name ?? "",
    displayName: t?.displayName ?? "",
    description: t?.description ?? "",
    image: t?.image ?? "",
    command: t?.command.join("\n") ?? "",
    vncPort: String(t?.vncPort ?? 0),
    cpuMillis: String(t?.cpuMillis ?? 0),
    memoryMiB: String(t ? Math.round(t.memoryBytes / MIB) : 0),
    env: pairs(t?.env ?? {}),
    idleTimeoutSeconds: String(t?.idleTimeoutSeconds ?? 0),
    persistentHome: t?.persistentHome ?? false,
    platform: t?.platform ?? "",
    region: t?.region ?? "",
    requiredLabels: pairs(t?.requiredLabels ?? {}),
  };
}

/** Lines of KEY=value; a line without '=' is a key with an empty value (the server judges). */
function parsePairs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const l = line.trim();
    if (!l) continue;
    const i = l.indexOf("=");
    if (i < 0) out[l] = "";
    else out[l.slice(0, i).trim()] = l.slice(i + 1);
  }
  return out;
}

/** A number field as typed; something that is not a number goes through as NaN for the server to name. */
const num = (s: string) => (s.trim() === "" ? 0 : Number(s));

/** The request body for a draft. */
function inputOf(d: Draft): TemplateInput {
  return {
    name: d.name.trim(),
    displayName: d.displayName,
    description: d.description,
    image: d.image.trim(),
    command: d.command.split("\n").filter((l) => l.trim() !== ""),
    vncPort: num(d.vncPort),
    resources: {
      cpuMillis: num(d.cpuMillis),
      memoryBytes: Math.round(num(d.memoryMiB) * MIB),
    },
    env: parsePairs(d.env),
    idleTimeoutSeconds: num(d.idleTimeoutSeconds),
    persistentHome: d.persistentHome,
    platform: d.platform,
    region: d.region.trim(),
    requiredLabels: parsePairs(d.requiredLabels),
  };
}

export function TemplateForm(props: {
  template?: TemplateView;
  busy: boolean;
  error: unknown;
  onSubmit: (input: TemplateInput) => void;
  onCancel: () => void;
}) {
  const [d, setD] = useState<Draft>(() => draftOf(props.template));
  const text = (key: keyof Draft, label: string, extra: { type?: string; wide?: boolean } = {}) => (
    <label className={extra.wide ? "wide" : undefined}>
      {label}
      <input
        type={extra.type ?? "text"}
        value={String(d[key])}
        onChange={(e) => setD({ ...d, [key]: e.target.value })}
      />
    </label>
  );
  const area = (key: keyof Draft, label: string) => (
    <label className="wide">
      {label}
      <textarea
        rows={3}
        value={String(d[key])}
        onChange={(e) => setD({ ...d, [key]: e.target.value })}
      />
    </label>
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSubmit(inputOf(d));
  };
  const editing = props.template !== undefined;
  return (
    <form
      className="card"
      onSubmit={submit}
      aria-label={editing ? `Edit ${props.template?.name}` : "New template"}
    >
      <h3>{editing ? `Edit ${props.template?.displayName}` : "New template"}</h3>
      <div className="form-grid">
        {text("name", "Name (lowercase, used in the API)")}
        {text("displayName", "Display name")}
        {text("image", "Image or program", { wide: true })}
        {text("description", "Description", { wide: true })}
        {area("command", "Command, one argument per line")}
        {text("vncPort", "VNC port (0 lets the driver pick)", { type: "number" })}
        {text("cpuMillis", "CPU (millicores, 0 = default)", { type: "number" })}
        {text("memoryMiB", "Memory (MiB, 0 = default)", { type: "number" })}
        {text("idleTimeoutSeconds", "Idle timeout (seconds, 0 = never)", { type: "number" })}
        <label>
          Platform
          <select
            value={d.platform}
            onChange={(e) => setD({ ...d, platform: e.target.value as Platform })}
          >
            <option value="">any</option>
            <option value="local">local</option>
            <option value="docker">docker</option>
            <option value="kubernetes">kubernetes</option>
          </select>
        </label>
        {text("region", "Region (empty = any)")}
        <label>
          <span>
            <input
              type="checkbox"
              checked={d.persistentHome}
              onChange={(e) => setD({ ...d, persistentHome: e.target.checked })}
            />{" "}
            Persistent home folder
          </span>
        </label>
        {area("env", "Environment, KEY=value per line")}
        {area("requiredLabels", "Required agent labels, key=value per line")}
      </div>
      {props.error !== null && props.error !== undefined && <ErrorBox error={props.error} />}
      <div className="actions">
        <button type="submit" className="btn btn-primary" disabled={props.busy}>
          {editing ? "Save template" : "Create template"}
        </button>
        <button type="button" className="btn btn-ghost" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
