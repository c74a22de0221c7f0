/** Formats generated TypeScript with prettier (loaded only here: `dlc check` never pays for it). */
export async function formatTypeScript(code: string): Promise<string> {
  const prettier = await import("prettier");
  return prettier.format(code, { parser: "typescript", printWidth: 110 });
}

/** TypeScript → JavaScript for the `js` target: types stripped, comments (and markers) kept. */
export async function toJavaScript(code: string): Promise<string> {
  const ts = (await import("typescript")).default;
  const out = ts.transpileModule(code, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, removeComments: false },
  });
  return out.outputText;
}
