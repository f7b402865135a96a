/** The list of command registrations; cli.ts wires them into commander. */
import type { Command } from "commander";
import { register as configCommand } from "./config";
import { register as schemaCommand } from "./schema";
import { register as upCommand } from "./up";
import { register as previewCommand } from "./preview";
import { register as downCommand } from "./down";
import { register as psCommand } from "./ps";
import { register as setupCommand } from "./setup";
import { register as doctorCommand } from "./doctor";
import { register as buildCommand } from "./build";
import { register as offerCommand } from "./offer";
import { register as compileCommand } from "./compile";
import { register as unlockCommand } from "./unlock";
import { register as auditCommand } from "./audit";
import { register as stopCommand } from "./stop";
import { register as deleteCommand } from "./delete";
import { register as logsCommand } from "./logs";
import { register as attachCommand } from "./attach";
import { register as agentCommand } from "./agent";
import { register as reapCommand } from "./reap";
import { register as volumeCommand } from "./volume";
import { register as kubeProxyCommand } from "./kube-proxy";

export type RegisterCommand = (program: Command) => void;

// Each command module adds itself here (one line per command).
export const commands: RegisterCommand[] = [
  configCommand,
  schemaCommand,
  upCommand,
  previewCommand,
  downCommand,
  psCommand,
  setupCommand,
  doctorCommand,
  buildCommand,
  offerCommand,
  compileCommand,
  unlockCommand,
  auditCommand,
  stopCommand,
  deleteCommand,
  logsCommand,
  attachCommand,
  agentCommand,
  reapCommand,
  volumeCommand,
  kubeProxyCommand,
];
