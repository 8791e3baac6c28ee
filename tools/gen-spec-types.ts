/**
 * Turns every JSON Schema in spec/ into a TypeScript module under src/spec-types/, so a request
 * or config field is declared once, in the schema Ajv loads at run time. `npm run gen:types`
 * writes the files; test/schemas.test.ts regenerates them in memory and fails when they are stale.
 *
 * Only the keywords spec/ uses are read (type, properties, required, additionalProperties,
 * patternProperties, items, enum, anyOf, local and cross-file $ref, title, description,
 * default); anything that only narrows a value (pattern, bounds) stays the schema's business.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

type Schema = Record<string, any>;

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const SPEC_TYPES_DIR = join(ROOT, 'src', 'spec-types');

/** `secret-spec.json` → `secret-spec.ts`. */
const moduleOf = (file: string) => file.replace(/\.json$/, '.ts');

const pascal = (s: string) => s.replace(/(^|[^a-zA-Z0-9])([a-zA-Z0-9])/g, (_, __, c: string) => c.toUpperCase());

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const key = (k: string) => (IDENTIFIER.test(k) ? k : `'${k.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`);

/** The most a generated line may hold, as everywhere in the code (biome.json, test/line-width.test.ts). */
const LINE_WIDTH = 160;
/** Where a doc comment too long for one line wraps: the width the hand-written comments keep. */
const COMMENT_WIDTH = 100;

/** `text` in lines of at most `width` characters, broken at spaces (a longer word gets a line of its own). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line: string | undefined;
  for (const word of text.split(' ')) {
    if (line === undefined) line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  return [...lines, line ?? ''];
}

/**
 * A doc comment from a schema's description and default, indented; empty when it has neither.
 * It stays on one line while that fits LINE_WIDTH; otherwise each description line longer than
 * LINE_WIDTH wraps at COMMENT_WIDTH (the shorter ones are kept as written).
 */
function doc(s: Schema, indent: string): string {
  const safe = (l: string) => l.replace(/\*\//g, '*\\/');
  const text = typeof s.description === 'string' ? s.description.split('\n').map(safe) : [];
  const tags = s.default !== undefined ? [safe(`@default ${JSON.stringify(s.default)}`)] : [];
  const lines = [...text, ...tags];
  if (lines.length === 0) return '';
  const one = `${indent}/** ${lines[0]} */`;
  if (lines.length === 1 && one.length <= LINE_WIDTH) return `${one}\n`;
  const prefix = `${indent} * `;
  const body = [...text.flatMap((l) => (prefix.length + l.length <= LINE_WIDTH ? [l] : wrap(l, COMMENT_WIDTH - prefix.length))), ...tags];
  return `${indent}/**\n${body.map((l) => `${prefix}${l}`).join('\n')}\n${indent} */\n`;
}

interface Context {
  /** The root schema's title: the module's main type. */
  title: string;
  /** Types imported from other spec modules, by file. */
  imports: Map<string, string>;
  /** Schemas of the whole folder, by $id, for cross-file $ref. */
  all: Map<string, Schema>;
}

function refType(ref: string, ctx: Context): string {
  const local = /^#\/(\$defs|definitions)\/([^/]+)$/.exec(ref);
  if (local) return pascal(local[2]!);
  const other = ctx.all.get(ref);
  if (!other) throw new Error(`$ref ${ref}: only #/$defs/NAME, #/definitions/NAME or another spec file`);
  ctx.imports.set(ref, other.title as string);
  return other.title as string;
}

/** A JSON value as a TypeScript literal, in the house's single quotes. */
const literal = (v: unknown) => (typeof v === 'string' ? `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : JSON.stringify(v));

/** The TypeScript for one schema; `indent` is the indentation of the line it starts on. */
function typeOf(s: Schema, ctx: Context, indent: string): string {
  return [...new Set(partsOf(s, ctx, indent))].join(' | ') || 'never';
}

/** The members of the union a schema allows (anyOf branches flattened, so null shows once). */
function partsOf(s: Schema, ctx: Context, indent: string): string[] {
  if (typeof s.$ref === 'string') return [refType(s.$ref, ctx)];
  if (Array.isArray(s.enum)) return s.enum.map(literal);
  if (s.const !== undefined) return [literal(s.const)];
  const branches = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (Array.isArray(branches)) return branches.flatMap((b) => partsOf(b, ctx, indent));
  let types: string[] = s.type === undefined ? [] : ([] as string[]).concat(s.type);
  if (types.length === 0) {
    if (s.properties || s.additionalProperties !== undefined || s.patternProperties) types = ['object'];
    else if (s.items) types = ['array'];
    else return ['unknown'];
  }
  return types.map((t) => primitive(t, s, ctx, indent));
}

function primitive(t: string, s: Schema, ctx: Context, indent: string): string {
  switch (t) {
    case 'string':
      return 'string';
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array': {
      if (!s.items) return 'unknown[]';
      const item = typeOf(s.items, ctx, indent);
      return new Set(partsOf(s.items, ctx, indent)).size > 1 ? `(${item})[]` : `${item}[]`;
    }
    case 'object':
      return objectOf(s, ctx, indent);
    default:
      throw new Error(`type ${t} is not supported`);
  }
}

function objectOf(s: Schema, ctx: Context, indent: string): string {
  const inner = `${indent}  `;
  const required = new Set<string>(s.required ?? []);
  const props = Object.entries((s.properties ?? {}) as Record<string, Schema>);
  const lines = props.map(([name, p]) => `${doc(p, inner)}${inner}${key(name)}${required.has(name) ? '' : '?'}: ${typeOf(p, ctx, inner)};`);
  // Values under other keys: a map's values, or anything when properties share the object.
  const extra: string[] = [];
  if (s.patternProperties) extra.push(...Object.values(s.patternProperties as Record<string, Schema>).flatMap((p) => partsOf(p, ctx, inner)));
  if (typeof s.additionalProperties === 'object') extra.push(...partsOf(s.additionalProperties, ctx, inner));
  else if (s.additionalProperties === undefined && props.length === 0 && !s.patternProperties) extra.push('unknown');
  if (extra.length > 0) {
    if (props.length === 0) return `{ [key: string]: ${[...new Set(extra)].join(' | ')} }`;
    lines.push(`${inner}[key: string]: unknown;`);
  }
  if (lines.length === 0) return '{}';
  return `{\n${lines.join('\n')}\n${indent}}`;
}

/** A schema's top-level defaults as a constant, so the code and the help text read them from here. */
function defaultsOf(root: Schema): string {
  const entries = Object.entries((root.properties ?? {}) as Record<string, Schema>).filter(([, p]) => p.default !== undefined);
  if (entries.length === 0) return '';
  const body = entries.map(([name, p]) => `  ${key(name)}: ${literal(p.default)},`).join('\n');
  return (
    `\n/** The \`default\` of each property of ${root.$id} that has one. */\n` +
    `export const ${root.title}Defaults = {\n${body}\n} as const satisfies Partial<${root.title}>;\n`
  );
}

/** The module for one schema file. */
export function generateModule(file: string, all: Map<string, Schema>): string {
  const root = all.get(file)!;
  if (typeof root.title !== 'string' || !IDENTIFIER.test(root.title)) throw new Error(`spec/${file}: a title that is a TypeScript name is needed`);
  const ctx: Context = { title: root.title, imports: new Map(), all };
  const parts: string[] = [];
  const main = typeOf(root, ctx, '');
  const head = doc({ description: `spec/${file}${root.description ? `: ${root.description}` : ''}` }, '');
  const single = partsOf(root, { ...ctx, imports: new Map() }, '').length === 1;
  parts.push(single && main.startsWith('{\n') ? `${head}export interface ${root.title} ${main}\n` : `${head}export type ${root.title} = ${main};\n`);
  for (const [name, def] of Object.entries({ ...(root.$defs ?? {}), ...(root.definitions ?? {}) } as Record<string, Schema>)) {
    const t = typeOf(def, ctx, '');
    parts.push(`\n${doc(def, '')}export type ${pascal(name)} = ${t};\n`);
  }
  const imports = [...ctx.imports]
    .sort()
    .map(([f, t]) => `import type { ${t} } from './${moduleOf(f)}';\n`)
    .join('');
  const header = `/** Generated from spec/${file} by \`npm run gen:types\` (tools/gen-spec-types.ts): edit the schema, not this file. */\n`;
  return `${header}${imports ? `${imports}\n` : '\n'}${parts.join('')}${defaultsOf(root)}`;
}

/** index.ts: every schema's main type by its $id, so a validator's result is typed by the id it was asked for. */
function indexModule(all: Map<string, Schema>): string {
  const files = [...all.keys()];
  const imports = files.map((f) => `import type { ${all.get(f)!.title} } from './${moduleOf(f)}';\n`).join('');
  const rows = files.map((f) => `  '${f}': ${all.get(f)!.title};`).join('\n');
  return (
    '/** Generated from spec/ by `npm run gen:types` (tools/gen-spec-types.ts): the type each schema describes, by $id. */\n' +
    `${imports}\nexport interface SpecTypes {\n${rows}\n}\n\nexport type SpecId = keyof SpecTypes;\n`
  );
}

/** Every module's text by file name under src/spec-types/, from the schemas in `specDir`. */
export function generateAll(specDir: string = join(ROOT, 'spec')): Map<string, string> {
  const all = new Map<string, Schema>();
  for (const file of readdirSync(specDir)
    .filter((f) => f.endsWith('.json'))
    .sort())
    all.set(file, JSON.parse(readFileSync(join(specDir, file), 'utf8')) as Schema);
  const out = new Map<string, string>();
  for (const file of all.keys()) out.set(moduleOf(file), generateModule(file, all));
  out.set('index.ts', indexModule(all));
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [file, text] of generateAll()) writeFileSync(join(SPEC_TYPES_DIR, file), text);
  console.log(`src/spec-types: ${generateAll().size} files written`);
}
