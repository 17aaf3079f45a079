import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { parseDocument } from 'yaml';
import { errorMessage, TemplateValidationError } from '../errors/tasker.error.js';
import { findStalenessProblems } from './staleness-check.js';
import { parseTemplate } from './template.parser.js';
import { type StalenessThresholds, templateKey, type TaskTemplate } from './task-template.js';

const TEMPLATE_FILE = /\.ya?ml$/i;

export interface TemplateCheckOptions {
  /**
   * Orchestration's staleness thresholds: a step timeout longer than the one that applies is a
   * problem (findStalenessProblems). Without them only the templates' own overrides count.
   */
  stalenessDefaults?: Required<StalenessThresholds>;
  /** The TASKER_ENV whose `environments` overrides apply (Tasker Core's format). */
  environment?: string;
}

/**
 * Reads every `*.yaml` / `*.yml` under `dir` (recursively) as a task template. Each template's
 * `source` is its path relative to `dir`. Fails with a {@link TemplateValidationError} naming the
 * file for YAML syntax errors (with line and column) and invalid templates, naming both files
 * for two templates with the same namespace/name@version, and naming `dir` if it is missing.
 * When several files are bad, one error lists the problems of all of them.
 * Returns the templates sorted by {@link templateKey}.
 */
export async function loadTemplatesFromDirectory(
  dir: string,
  options: TemplateCheckOptions & {
    /** Told what a valid template has that is ignored (see parseTemplate's warnings). */
    onWarning?: (source: string, warning: string) => void;
  } = {},
): Promise<TaskTemplate[]> {
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

  const files = (await findTemplateFiles(dir)).map((path) => ({
    path,
    source: relative(dir, path).split(sep).join('/'),
  }));
  const reports = await checkTemplateFiles(files, options);
  const failures = reports.filter((r) => r.problems.length > 0);

  const [only] = failures;
  if (only && failures.length === 1) throw new TemplateValidationError(only.source, only.problems);
  if (failures.length > 1) {
    throw new TemplateValidationError(
      dir,
      failures.flatMap((f) => f.problems.map((p) => `${f.source}: ${p}`)),
    );
  }

  for (const report of reports) {
    for (const warning of report.warnings) options.onWarning?.(report.source, warning);
  }
  const templates = reports.flatMap((r) => (r.template ? [r.template] : []));
  const key = (t: TaskTemplate) => templateKey(t);
  return templates.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

export interface TemplateFile {
  path: string;
  /** How problems name the file. */
  source: string;
}

export interface TemplateFileReport {
  source: string;
  /** Present when the file holds a valid template. */
  template?: TaskTemplate;
  /** Every problem found, each naming the step where it is about one. */
  problems: string[];
  /** What is accepted but ignored: keys Tasker Core's format does not know. */
  warnings: string[];
}

/**
 * Reads and checks each file on its own (YAML syntax, then the template, then its step timeouts
 * against the staleness thresholds), then across files:
 * a namespace/name@version defined by an earlier file is a problem of the later one. A file
 * that cannot be read at all fails the whole call with the file system's error.
 */
export async function checkTemplateFiles(
  files: readonly TemplateFile[],
  options: TemplateCheckOptions = {},
): Promise<TemplateFileReport[]> {
  const reports: TemplateFileReport[] = [];
  const byKey = new Map<string, string>();
  for (const { path, source } of files) {
    const warnings: string[] = [];
    try {
      const template = parseTemplate(await readYaml(path, source), source, {
        ...(options.environment !== undefined ? { environment: options.environment } : {}),
        warnings,
      });
      const stalenessProblems = findStalenessProblems(template, options.stalenessDefaults);
      if (stalenessProblems.length > 0) {
        reports.push({ source, problems: stalenessProblems, warnings });
        continue;
      }
      const key = templateKey(template);
      const earlier = byKey.get(key);
      if (earlier !== undefined) {
        reports.push({
          source,
          problems: [`template ${key} is defined twice: in ${earlier} and in ${source}`],
          warnings,
        });
        continue;
      }
      byKey.set(key, source);
      reports.push({ source, template, problems: [], warnings });
    } catch (error) {
      if (error instanceof TemplateValidationError) {
        reports.push({ source, problems: error.problems, warnings });
      } else throw error;
    }
  }
  return reports;
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
export async function findTemplateFiles(dir: string): Promise<string[]> {
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
