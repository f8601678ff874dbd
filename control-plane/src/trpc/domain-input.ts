/**
 * tRPC input parsers made from the domain's schemas (domain/validation.ts), so a procedure
 * refuses exactly what the Connect handler for the same operation refuses, with the same
 * sentence. A refusal is the domain's invalid_argument; init.ts maps it through the shared
 * error table like any other domain error.
 */
import type { z } from "zod";
import { parse } from "../domain/validation.ts";

/**
 * tRPC's zod-like parser shape: `_input`/`_output` are read only by the type system (they give
 * the client its input type, optional fields included), `parse` does the work at run time.
 */
export interface DomainInput<In, Out> {
  readonly _input: In;
  readonly _output: Out;
  parse(raw: unknown): Out;
}

/** The operation's schema as a tRPC input. */
export function domainInput<S extends z.ZodType>(schema: S): DomainInput<z.input<S>, z.output<S>> {
  return { parse: (raw: unknown) => parse(schema, raw) } as DomainInput<z.input<S>, z.output<S>>;
}

/** The same for operations whose every field has a default: the client may send nothing. */
export function optionalDomainInput<S extends z.ZodType>(
  schema: S,
): DomainInput<z.input<S> | undefined, z.output<S>> {
  return { parse: (raw: unknown) => parse(schema, raw ?? {}) } as DomainInput<
    z.input<S> | undefined,
    z.output<S>
  >;
}
