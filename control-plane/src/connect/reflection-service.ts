/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha) as Connect services, so grpcurl and
 * `buf curl` can list and call every service with no .proto files at hand. Descriptors come
 * from the generated code (each GenFile carries its FileDescriptorProto), and every answer
 * includes the file's transitive imports, because clients need them to build the types.
 */
import { createRegistry, type DescFile, type DescService, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type * as v1 from "@streamspace/proto/grpc/reflection/v1/reflection_pb";
import type * as v1alpha from "@streamspace/proto/grpc/reflection/v1alpha/reflection_pb";

type Request = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;

/** A response body in the shape both versions share (field names and numbers are identical). */
type Answer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | {
      case: "allExtensionNumbersResponse";
      value: { baseTypeName: string; extensionNumber: number[] };
    }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

const NOT_FOUND = 5;

/** Indexes the served services and every file they depend on. */
export function createReflectionIndex(services: readonly DescService[]) {
  const files = new Map<string, DescFile>();
  const visit = (f: DescFile) => {
    if (files.has(f.name)) return;
    files.set(f.name, f);
    for (const d of f.dependencies) visit(d);
  };
  for (const s of services) visit(s.file);
  const registry = createRegistry(...files.values());
  const encoded = new Map<string, Uint8Array>();
  const bytesOf = (f: DescFile) => {
    let b = encoded.get(f.name);
    if (!b) {
      b = toBinary(FileDescriptorProtoSchema, f.proto);
      encoded.set(f.name, b);
    }
    return b;
  };
  const withDeps = (f: DescFile): Uint8Array[] => {
    const out: DescFile[] = [];
    const seen = new Set<string>();
    const walk = (x: DescFile) => {
      if (seen.has(x.name)) return;
      seen.add(x.name);
      out.push(x);
      for (const d of x.dependencies) walk(d);
    };
    walk(f);
    return out.map(bytesOf);
  };
  const fileOfSymbol = (symbol: string): DescFile | undefined => {
    let name = symbol.replace(/^\./, "");
    for (let i = 0; i < 3 && name; i++) {
      const d = registry.get(name) ?? registry.getService(name);
      if (d) return d.kind === "service" ? d.file : d.file;
      name = name.slice(0, Math.max(0, name.lastIndexOf(".")));
    }
    return undefined;
  };
  const error = (msg: string): Answer => ({
    case: "errorResponse",
    value: { errorCode: NOT_FOUND, errorMessage: msg },
  });

  return {
    answer(req: Request): Answer {
      const m = req.messageRequest;
      switch (m.case) {
        case "listServices":
          return {
            case: "listServicesResponse",
            value: { service: services.map((s) => ({ name: s.typeName })) },
          };
        case "fileByFilename": {
          const f = files.get(m.value);
          return f
            ? { case: "fileDescriptorResponse", value: { fileDescriptorProto: withDeps(f) } }
            : error(`file ${m.value} not found`);
        }
        case "fileContainingSymbol": {
          const f = fileOfSymbol(m.value);
          return f
            ? { case: "fileDescriptorResponse", value: { fileDescriptorProto: withDeps(f) } }
            : error(`symbol ${m.value} not found`);
        }
        case "fileContainingExtension":
          return error(`no extensions of ${m.value.containingType} are served`);
        case "allExtensionNumbersOfType":
          if (!registry.getMessage(m.value)) return error(`type ${m.value} not found`);
          return {
            case: "allExtensionNumbersResponse",
            value: { baseTypeName: m.value, extensionNumber: [] },
          };
        default:
          return {
            case: "errorResponse",
            value: { errorCode: 3, errorMessage: "empty reflection request" },
          };
      }
    },
  };
}

/** The index's type, shared by both versions' handlers. */
export type ReflectionIndex = ReturnType<typeof createReflectionIndex>;

/** grpc.reflection.v1.ServerReflection. */
export function reflectionV1Handlers(
  index: ReflectionIndex,
): ServiceImpl<typeof v1.ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) {
        yield { validHost: req.host, originalRequest: req, messageResponse: index.answer(req) };
      }
    },
  };
}

/** grpc.reflection.v1alpha.ServerReflection (older grpcurl and tools still ask for it). */
export function reflectionV1alphaHandlers(
  index: ReflectionIndex,
): ServiceImpl<typeof v1alpha.ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) {
        yield { validHost: req.host, originalRequest: req, messageResponse: index.answer(req) };
      }
    },
  };
}
