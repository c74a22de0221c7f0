/**
 * What the generated module takes from its host, found at run time so that the module needs no
 * type declarations and runs in browsers: text codecs, a clock, a way to yield, and (in Node)
 * `process`. Nothing here imports anything.
 */

interface TextDecoderLike {
  decode(bytes: Uint8Array): string;
}
interface TextEncoderLike {
  encode(text: string): Uint8Array;
}
interface Host {
  readonly TextDecoder?: new (label?: string, options?: { fatal?: boolean }) => TextDecoderLike;
  readonly TextEncoder?: new () => TextEncoderLike;
  readonly performance?: { now(): number };
  readonly setImmediate?: (callback: () => void) => unknown;
  readonly MessageChannel?: new () => { port1: { onmessage: (() => void) | null; close(): void }; port2: { postMessage(message: unknown): void; close(): void } };
  readonly process?: NodeProcessLike;
}

/** The parts of Node's `process` the command line uses. */
export interface NodeProcessLike {
  readonly argv: readonly string[];
  readonly pid: number;
  readonly versions: { readonly node?: string };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: { write(text: string): unknown; on(event: "error", listener: (e: { code?: string }) => void): unknown; readonly isTTY?: boolean };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
  exitCode?: number | string;
  on(event: "SIGINT", listener: () => void): unknown;
  off(event: "SIGINT", listener: () => void): unknown;
  exit(code?: number): never;
  kill(pid: number, signal?: number | string): unknown;
}

const host = globalThis as unknown as Host;

/** UTF-8 bytes → text; with `fatal`, undefined for invalid UTF-8. */
export function utf8Decode(bytes: Uint8Array, fatal = false): string | undefined {
  const Decoder = host.TextDecoder;
  if (!Decoder) throw new Error("this JavaScript environment has no TextDecoder");
  try {
    return new Decoder("utf-8", { fatal }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** Bytes as Latin-1 (ASCII, where dlc calls it: text known to hold no byte past 0x7F). */
export function latin1Decode(bytes: Uint8Array): string {
  const Decoder = host.TextDecoder;
  if (!Decoder) throw new Error("this JavaScript environment has no TextDecoder");
  return new Decoder("latin1").decode(bytes);
}

export function utf8Encode(text: string): Uint8Array {
  const Encoder = host.TextEncoder;
  if (!Encoder) throw new Error("this JavaScript environment has no TextEncoder");
  return new Encoder().encode(text);
}

/** Milliseconds from a monotonic clock where there is one. */
export function now(): number {
  return host.performance ? host.performance.now() : Date.now();
}

/** Lets timers, signals (Ctrl-C) and output through: setImmediate in Node, a message in browsers. */
export function yieldToHost(): Promise<void> {
  const immediate = host.setImmediate;
  if (immediate) return new Promise((resolve) => void immediate(() => resolve()));
  const Channel = host.MessageChannel;
  if (Channel) {
    return new Promise((resolve) => {
      const channel = new Channel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    });
  }
  return Promise.resolve();
}

/** Node's process object, or undefined elsewhere (browsers, workers, Deno without it). */
export function nodeProcess(): NodeProcessLike | undefined {
  const p = host.process;
  return p && typeof p.versions?.node === "string" ? p : undefined;
}

/**
 * A Node built-in, loaded only when called: the specifier is a value, so bundlers leave it alone
 * and the module still loads where `node:` modules do not exist.
 */
export function nodeBuiltin<T>(name: "fs" | "path" | "url" | "zlib"): Promise<T> {
  const specifier = `node:${name}`;
  return import(/* webpackIgnore: true */ /* @vite-ignore */ specifier) as Promise<T>;
}
