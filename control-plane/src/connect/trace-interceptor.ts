/**
 * Names the outcome of each Connect call on the request's span (server/http-server.ts opens
 * it): gRPC answers HTTP 200 even for errors, so the status code has to come from here.
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { annotateActiveSpan } from "@streamspace/common/tracing";

export function createTraceInterceptor(): Interceptor {
  return (next) => async (req) => {
    annotateActiveSpan({
      "rpc.system": "grpc",
      "rpc.service": req.service.typeName,
      "rpc.method": req.method.name,
    });
    try {
      return await next(req);
    } catch (err) {
      const ce = ConnectError.from(err);
      // Client mistakes (a bad argument, not found) are not server faults: keep the span OK.
      const serverFault = [Code.Internal, Code.Unknown, Code.Unavailable, Code.DataLoss].includes(
        ce.code,
      );
      annotateActiveSpan(
        { "rpc.grpc.status_code": ce.code },
        serverFault ? ce.rawMessage : undefined,
      );
      throw err;
    }
  };
}
