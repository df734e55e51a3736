/**
 * @file node:fs for the package bundle, through `require`. An ES module import of node:fs makes
 * Node build the module's ES facade, which reads every export, and in Node 20 some exports
 * (`ReadStream`, `WriteStream`, `promises`, ...) are getters that load node:stream and what it
 * needs: a cost every `import "clip-ts"` would pay though few calls ever stream a file. The
 * package build resolves `node:fs` to this file. The default export is node:fs itself; the names
 * below are those the bundled modules import by name, and a new one fails the package build
 * ("No matching export") until it is added here.
 */
import { nodeFs } from "../util/builtins.node.js";

const fs = nodeFs();
export default fs;
export const { closeSync, existsSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } = fs;
