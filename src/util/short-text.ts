/** Longest name a message echoes whole; a longer one is cut, with its length said. */
export const ECHOED_NAME_LENGTH = 60;

/** `name`, or its first ECHOED_NAME_LENGTH characters then "… (N characters)" when longer. */
export function shortName(name: string): string {
  if (name.length <= ECHOED_NAME_LENGTH) return name;
  return `${name.slice(0, ECHOED_NAME_LENGTH)}… (${name.length.toLocaleString("en-US")} characters)`;
}
