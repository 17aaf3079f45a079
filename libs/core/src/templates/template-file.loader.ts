import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { parseDocument } from 'yaml';
import { errorMessage, TemplateValidationError } from '../errors/tasker.error.js';
import { parseTemplate } from './template.parser.js';
import { templateKey, type TaskTemplate } from './task-template.js';

const TEMPLATE_FILE = /\.ya?ml$/i;

/**
 * Reads every `*.yaml` / `*.yml` under `dir` (recursively) as a task template. Each template's
 * `source` is its path relative to `dir`. Fails with a {@link TemplateValidationError} naming the
 * file for YAML syntax errors (with line and column) and invalid templates, naming both files
 * for two templates with the same namespace/name@version, and naming `dir` if it is missing.
 * When several files are bad, one error lists the problems of all of them.
 * Returns the templates sorted by {@link templateKey}.
 */
export async function loadTemplatesFromDirectory(dir: string): Promise<TaskTemplate[]> {
  let info;
  try {
    info = await stat(dir);
  } catch (error) {
    if (isNodeError(error) && error.code === 'ENOENT') {
      throw new TemplateValidationError(dir, [`template directory ${dir} does not exist`]);
    }
    throw error;
  }
  if (!info.isDirectory()) {
    throw new TemplateValidationError(dir, [`template path ${dir} is not a directory`]);
  }

  const files = await findTemplateFiles(dir);
  const templates: TaskTemplate[] = [];
  const failures: TemplateValidationError[] = [];
  const byKey = new Map<string, string>();

  for (const file of files) {
    const source = relative(dir, file).split(sep).join('/');
    try {
      const template = parseTemplate(await readYaml(file, source), source);
      const key = templateKey(template);
      const earlier = byKey.get(key);
      if (earlier !== undefined) {
        throw new TemplateValidationError(source, [
          `template ${key} is defined twice: in ${earlier} and in ${source}`,
        ]);
      }
      byKey.set(key, source);
      templates.push(template);
    } catch (error) {
      if (error instanceof TemplateValidationError) failures.push(error);
      else throw error;
    }
  }

  const [only] = failures;
  if (only && failures.length === 1) throw only;
  if (failures.length > 1) {
    throw new TemplateValidationError(
      dir,
      failures.flatMap((f) => f.problems.map((p) => `${f.source}: ${p}`)),
    );
  }

  const key = (t: TaskTemplate) => templateKey(t);
  return templates.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

async function readYaml(file: string, source: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new TemplateValidationError(
      source,
      doc.errors.map((e) => {
        const where = e.linePos?.[0];
        // Pretty messages end with the location and a code excerpt; keep the first line only.
        const first = (e.message.split('\n')[0] ?? e.message).replace(
          / at line \d+, column \d+:?$/,
          '',
        );
        return where
          ? `YAML syntax error at line ${where.line}, column ${where.col}: ${first}`
          : `YAML syntax error: ${first}`;
      }),
    );
  }
  try {
    return doc.toJS();
  } catch (error) {
    // e.g. too many alias expansions (a "billion laughs" file)
    const reason = errorMessage(error);
    throw new TemplateValidationError(source, [`YAML could not be read: ${reason}`]);
  }
}

/** Template files under `dir`, depth first, in name order so loading is deterministic. */
async function findTemplateFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      const target = await stat(path).catch(() => null);
      isDir = target?.isDirectory() ?? false;
      isFile = target?.isFile() ?? false;
    }
    if (isDir) files.push(...(await findTemplateFiles(path)));
    else if (isFile && TEMPLATE_FILE.test(entry.name)) files.push(path);
  }
  return files;
}

/** Duck-typed: errors from node:fs may come from another realm (e.g. under jest's VM). */
function isNodeError(error: unknown): error is NodeJS.ErrnoException {
  return typeof error === 'object' && error !== null && 'code' in error;
}
