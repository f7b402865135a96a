/**
 * Help-text conventions, for every command commander knows (cli.ts buildProgram, which
 * registers src/cli/commands.ts):
 * - a command's description starts with a capital letter and has no trailing period;
 * - an option's and an argument's description starts with a lower-case letter (as commander's
 *   own "display help for command") or an acronym (GPU, CPU), and has no trailing period;
 * - arguments and option placeholders are upper case: `[DIR]`, `<NAME>`, `--file <FILE>`.
 */
import type { Command } from "commander";
import { buildProgram } from "../../cli";

const program = buildProgram();
const commands: readonly Command[] = program.commands;
const LOWER = /^([a-z]|[A-Z]{2,}\b)/;
const PLACEHOLDER = /^[A-Z][A-Z0-9_]*(\[=[A-Z0-9_]+\])?(\.\.\.)?$/;

test("the program registers the commands (the walk below is not empty)", () => {
  expect(commands.map((c) => c.name())).toEqual(expect.arrayContaining(["up", "preview", "down", "build", "schema", "config", "offer", "compile"]));
});

describe.each(commands.map((c) => [c.name(), c] as const))("dstack %s", (_name, cmd) => {
  it("has a description that starts with a capital letter and has no trailing period", () => {
    const d = cmd.description();
    expect(d).toMatch(/^[A-Z]/);
    expect(d).not.toMatch(/\.$/);
  });

  it("writes its arguments in upper case, with lower-case descriptions and no trailing period", () => {
    for (const a of cmd.registeredArguments) {
      expect(a.name()).toMatch(PLACEHOLDER);
      expect(a.description).toMatch(LOWER);
      expect(a.description).not.toMatch(/\.$/);
    }
  });

  it("writes its options' placeholders in upper case, with lower-case descriptions and no trailing period", () => {
    expect(cmd.options.length).toBeGreaterThan(0);
    for (const o of cmd.options) {
      for (const m of o.flags.matchAll(/<([^>]+)>|\[([^\]]+)\]/g)) expect(m[1] ?? m[2]).toMatch(PLACEHOLDER);
      expect(o.description).toMatch(LOWER);
      expect(o.description).not.toMatch(/\.$/);
    }
  });
});

test("the program's own description follows the command rule", () => {
  expect(program.description()).toMatch(/^[A-Z]/);
  expect(program.description()).not.toMatch(/\.$/);
});

test("the help lists up with its alias apply, and [DIR] (never [dir])", () => {
  const help = program.helpInformation();
  expect(help).toMatch(/up\|apply \[options\] \[DIR\]/);
  expect(help).not.toMatch(/\[dir\]|<name>/);
});
