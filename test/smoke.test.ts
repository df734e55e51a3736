import { test } from "node:test";
import assert from "node:assert/strict";
import { UserError } from "../src/errors.js";

test("errors carry their message", () => {
  assert.equal(new UserError("x").message, "x");
});
