/** @file `clip --help` lists every command from the summary table alone; each module registers the same summary. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { Command } from "commander";
import { COMMANDS } from "../../src/cli/commands.js";
import { SUMMARIES } from "../../src/cli/summaries.js";
import { CLI } from "../helpers/shared.js";

test("clip --help lists every command with its summary", () => {
  const out = execFileSync(process.execPath, [CLI, "--help"], { encoding: "utf8" }).replace(/\s+/g, " ");
  for (const [name, summary] of Object.entries(SUMMARIES)) assert.ok(out.includes(`${name} ${summary}`), `${name}: ${summary}`);
});

test("every command module registers the summary the top-level help shows", async () => {
  assert.deepEqual(Object.keys(SUMMARIES).sort(), Object.keys(COMMANDS).sort());
  for (const [name, load] of Object.entries(COMMANDS)) {
    const program = new Command();
    (await load())(program);
    const cmd = program.commands.find((c) => c.name() === name);
    assert.ok(cmd, `${name} is registered by its module`);
    assert.equal(cmd.summary(), SUMMARIES[name as keyof typeof SUMMARIES]);
  }
});

test("clip help NAME and a typo still work without loading every module", () => {
  const help = execFileSync(process.execPath, [CLI, "help", "tokenize"], { encoding: "utf8" });
  assert.match(help, /Usage: clip tokenize/);
  try {
    execFileSync(process.execPath, [CLI, "tokenise"], { encoding: "utf8", stdio: "pipe" });
    assert.fail("a typo should fail");
  } catch (e) {
    assert.match((e as { stderr: string }).stderr, /unknown command 'tokenise'[\s\S]*Did you mean tokenize/);
  }
});
