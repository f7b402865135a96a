/** The list of command registrations; cli.ts wires them into commander. */
import type { Command } from "commander";

export type RegisterCommand = (program: Command) => void;

// Each command module adds itself here (one line per command).
export const commands: RegisterCommand[] = [];
