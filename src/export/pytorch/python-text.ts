/**
 * Python source text from dlc's values: string literals, literals of JSON-like values, and
 * identifiers. Every name from a .dl file reaches generated Python through these functions only.
 */

/** A Python string literal: printable ASCII as is, everything else escaped, so no name can end it. */
export function pyString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (code >= 0x20 && code < 0x7f) out += ch;
    else if (code <= 0xff) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += `\\U${code.toString(16).padStart(8, "0")}`;
  }
  return `${out}"`;
}

/** A Python number literal (repr-exact for finite doubles; dlc's numbers are finite). */
export function pyNumber(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`no Python literal for ${n}`);
  return Number.isInteger(n) && Math.abs(n) < 2 ** 53 ? String(n) : String(n).replace(/e\+?/, "e");
}

/** A Python literal of a JSON-like value: None, True/False, numbers, strings, lists, dicts. */
export function pyLiteral(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "number") return pyNumber(v);
  if (typeof v === "string") return pyString(v);
  if (Array.isArray(v)) return `[${v.map(pyLiteral).join(", ")}]`;
  return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${pyString(k)}: ${pyLiteral(x)}`).join(", ")}}`;
}

const KEYWORDS = new Set(
  "False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield match case type print".split(" "),
);

/** Names the generated module uses itself, and torch.nn.Module's own attributes (a layer there would hide them). */
const RESERVED = new Set([
  ..."self torch math warnings super object len range list dict str int float bool tuple isinstance getattr setattr NETWORK WEIGHTS Net inputs".split(" "),
  ..."T_destination add_module apply bfloat16 buffers children compile cpu cuda double dump_patches eval extra_repr float forward get_buffer get_extra_state get_parameter get_submodule half ipu load_state_dict modules mtia named_buffers named_children named_modules named_parameters parameters requires_grad_ set_extra_state share_memory state_dict to to_empty train training type xpu zero_grad call_super_init".split(" "),
  ..."dlc_state load_dlc_state load_dlc save_dlc forward_with_logits sync_batch_statistics bptt logits".split(" "),
]);

function reserved(id: string): boolean {
  return KEYWORDS.has(id) || RESERVED.has(id) || id.startsWith("_") || id.startsWith("Dlc") || id.startsWith("register_");
}

/**
 * Safe, unique Python identifiers for dlc names, in order: characters outside [A-Za-z0-9_] become
 * `_`, a leading digit or a reserved word gets a prefix or suffix, and repeats get `_2`, `_3`, ….
 */
export function pythonIdentifiers(names: readonly string[]): string[] {
  const taken = new Set<string>();
  return names.map((name) => {
    let id = name.replace(/[^A-Za-z0-9_]/g, "_");
    if (id === "" || /^[0-9]/.test(id)) id = `v${id}`;
    if (reserved(id)) id = `v_${id}`;
    let unique = id;
    for (let k = 2; taken.has(unique); k++) unique = `${id}_${k}`;
    taken.add(unique);
    return unique;
  });
}
