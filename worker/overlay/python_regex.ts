/** Python regex syntax LAVA test definitions use (`parse: pattern:`), as JavaScript reads it. */
export function pythonRegex(pattern: string): RegExp {
  return new RegExp(pattern.replace(/\(\?P</g, "(?<").replace(/\(\?P=(\w+)\)/g, "\\k<$1>"), "m");
}
