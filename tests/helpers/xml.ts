/**
 * A strict little XML parser for the tests of generated XML (the --plot SVG): elements,
 * attributes in quotes, text, comments and the XML declaration; anything else that is not
 * well-formed (an unclosed or crossed tag, `<` or a bare `&` in text or an attribute, an unknown
 * entity, a character XML 1.0 forbids, two roots) throws. Entities are decoded.
 */

export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: readonly (XmlElement | string)[];
}

const NAME = /^[A-Za-z_:][\w.:-]*/;
const ENTITIES: Readonly<Record<string, string>> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Text with its entity references decoded; throws on a bare `&`, `<` or a forbidden character. */
function decode(text: string, where: string): string {
  if (text.includes("<")) throw new Error(`'<' in ${where}`);
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(text)) throw new Error(`a character XML forbids in ${where}`);
  return text.replace(/&([^;]*);|&/g, (whole, ref: string | undefined) => {
    if (ref === undefined) throw new Error(`a bare '&' in ${where}`);
    if (ENTITIES[ref] !== undefined) return ENTITIES[ref]!;
    const n = /^#x([0-9a-fA-F]+)$/.exec(ref)?.[1] ?? /^#([0-9]+)$/.exec(ref)?.[1];
    if (n === undefined) throw new Error(`unknown entity &${ref}; in ${where}`);
    return String.fromCodePoint(ref.startsWith("#x") ? parseInt(n, 16) : Number(n));
  });
}

export function parseXml(xml: string): XmlElement {
  let at = 0;
  const stack: { name: string; attributes: Record<string, string>; children: (XmlElement | string)[] }[] = [];
  let root: XmlElement | undefined;
  const skip = (re: RegExp): string | undefined => {
    const m = re.exec(xml.slice(at));
    if (!m || m.index !== 0) return undefined;
    at += m[0].length;
    return m[0];
  };
  skip(/^<\?xml[^?]*\?>/);
  while (at < xml.length) {
    if (xml.startsWith("<!--", at)) {
      const end = xml.indexOf("-->", at);
      if (end < 0) throw new Error("an unclosed comment");
      at = end + 3;
    } else if (xml.startsWith("</", at)) {
      at += 2;
      const name = skip(NAME);
      skip(/^\s*/);
      if (!name || xml[at] !== ">") throw new Error(`a bad end tag at ${at}`);
      at++;
      const open = stack.pop();
      if (!open || open.name !== name) throw new Error(`</${name}> closes <${open?.name ?? "nothing"}>`);
      if (stack.length === 0) root = open;
      else stack[stack.length - 1]!.children.push(open);
    } else if (xml[at] === "<") {
      at++;
      const name = skip(NAME);
      if (!name) throw new Error(`a bad tag at ${at}`);
      if (stack.length === 0 && root) throw new Error("a second root element");
      const attributes: Record<string, string> = {};
      for (;;) {
        const space = skip(/^\s+/);
        if (xml.startsWith("/>", at) || xml[at] === ">") break;
        const attr = skip(NAME);
        if (!space || !attr) throw new Error(`a bad attribute in <${name}> at ${at}`);
        const value = skip(/^\s*=\s*("[^"]*"|'[^']*')/);
        if (!value) throw new Error(`attribute ${attr} of <${name}> has no quoted value`);
        if (attr in attributes) throw new Error(`attribute ${attr} twice in <${name}>`);
        const quoted = value.slice(value.search(/["']/));
        attributes[attr] = decode(quoted.slice(1, -1), `attribute ${attr}`);
      }
      const element = { name, attributes, children: [] as (XmlElement | string)[] };
      if (xml.startsWith("/>", at)) {
        at += 2;
        if (stack.length === 0) root = element;
        else stack[stack.length - 1]!.children.push(element);
      } else {
        at++;
        stack.push(element);
      }
    } else {
      const end = xml.indexOf("<", at);
      const text = xml.slice(at, end < 0 ? xml.length : end);
      at += text.length;
      if (stack.length === 0) {
        if (text.trim() !== "") throw new Error("text outside the root element");
      } else stack[stack.length - 1]!.children.push(decode(text, `<${stack[stack.length - 1]!.name}>`));
    }
  }
  if (stack.length > 0) throw new Error(`<${stack[stack.length - 1]!.name}> is not closed`);
  if (!root) throw new Error("no root element");
  return root;
}

/** Every element below (and including) `e` that passes `test`, in document order. */
export function findAll(e: XmlElement, test: (e: XmlElement) => boolean): XmlElement[] {
  const out: XmlElement[] = test(e) ? [e] : [];
  for (const c of e.children) if (typeof c !== "string") out.push(...findAll(c, test));
  return out;
}

/** The text inside an element (its descendants' too). */
export function textOf(e: XmlElement): string {
  return e.children.map((c) => (typeof c === "string" ? c : textOf(c))).join("");
}
