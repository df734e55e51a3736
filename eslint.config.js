// Lint configuration: typescript-eslint's recommended rules over the sources, tests and benches,
// plus the project's layer rules (eslint/layers.js) over src/.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import layers from "./eslint/layers.js";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", ".ci/venv/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-non-null-assertion": "off",
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  {
    files: ["src/**/*.ts"],
    plugins: { layers },
    rules: { "layers/imports": "error" },
  },
  {
    // the page's script runs in browsers (served as it is by `clip serve`)
    files: ["src/web/static/**/*.js"],
    languageOptions: {
      sourceType: "module",
      globals: Object.fromEntries(["document", "window", "fetch", "FormData", "URLSearchParams", "URL", "File", "setTimeout", "clearTimeout"].map((g) => [g, "readonly"])),
    },
  },
  {
    files: ["eslint/**/*.js", "bin/**/*.js"],
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
  },
);
