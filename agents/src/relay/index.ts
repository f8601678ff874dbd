import { x } from "@streamspace/dataplane/ring";
export const y = x;
