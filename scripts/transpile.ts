// typescript's transpileModule, for the tests and benchmarks only (typescript is a
// devDependency: dlc itself makes JavaScript with src/codegen/strip-types.ts). The tests compare
// stripTypes' output with this one's.

/** TypeScript → JavaScript with typescript's transpileModule: types stripped, comments (and markers) kept. */
export async function toJavaScript(code: string): Promise<string> {
  const ts = (await import("typescript")).default;
  const out = ts.transpileModule(code, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, removeComments: false },
  });
  return out.outputText;
}
