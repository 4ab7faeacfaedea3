/**
 * The failures a template can raise, named as Jinja2 and Python name them
 * (`UndefinedError`, `TypeError`, `TemplateSyntaxError`, ...), with the template
 * and line where they happened once known.
 */
export class JinjaError extends Error {
  /** The Python exception class LAVA would see: `UndefinedError`, `TypeError`, ... */
  readonly kind: string;
  /** Template name and line; the innermost known place wins. */
  template?: string;
  lineno?: number;

  constructor(kind: string, message: string, where?: { name?: string; lineno?: number }) {
    super(message);
    this.name = "JinjaError";
    this.kind = kind;
    this.template = where?.name;
    this.lineno = where?.lineno;
  }

  /** Records where the error happened, unless a deeper place is already known. */
  locate(template: string, lineno: number): this {
    if (this.template === undefined) {
      this.template = template;
      this.lineno = lineno;
    }
    return this;
  }
}

export const typeError = (message: string) => new JinjaError("TypeError", message);
export const valueError = (message: string) => new JinjaError("ValueError", message);
