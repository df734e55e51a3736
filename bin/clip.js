#!/usr/bin/env node
// The `clip` command: runs the compiled CLI (npm ci builds dist/ through the prepare script).
import { main } from "../dist/src/cli/main.js";
main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
