/**
 * One problem with an option, worded like the core's document problems: `place: expected …, got …`.
 * Every entry point's `invalid-option` error lists its problems in this form.
 */
export function optionProblem(option: string, expected: string, got: unknown): string {
  const text = got === undefined ? 'nothing' : (JSON.stringify(got) ?? String(got));
  return `${option}: expected ${expected}, got ${text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
}
