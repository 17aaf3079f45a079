import { stat } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import {
  checkTemplateFiles,
  ConfigError,
  findTemplateFiles,
  type TaskTemplate,
  type TemplateCheckOptions,
  type TemplateFile,
  templateKey,
} from '#core';
import { apiClientFor, withApiOptions } from '../api-options.js';
import { CliError } from '../cli.error.js';
import { ExitCode } from '../exit-codes.js';
import { formatTable, type OutputFormat, outputOption, printJson, writeOut } from '../output.js';
import { renderGraphMermaid, renderGraphText } from './template-graph.js';

/**
 * `template list|validate|graph`: registered templates over the API; template files checked
 * locally with the loader orchestration boots with, so validate finds what boot would refuse.
 */
export function registerTemplateCommands(program: Command): void {
  const template = program
    .command('template')
    .description('list registered templates, validate template files, draw a DAG');

  withApiOptions(template.command('list'))
    .description('templates registered in orchestration')
    .addOption(outputOption())
    .action(async (options: { output: OutputFormat }, command: Command) => {
      const list = await apiClientFor(command).templates.list();
      if (options.output === 'json') return printJson(list);
      writeOut(
        formatTable(
          ['namespace', 'name', 'version', 'steps', 'description'],
          list.items.map((t) => [
            t.namespace,
            t.name,
            t.version,
            String(t.steps.length),
            t.description ?? '',
          ]),
        ),
      );
    });

  template
    .command('validate')
    .description('check template files (or directories of them); exit 1 listing every problem')
    .argument('<paths...>', 'YAML files or directories')
    .addOption(outputOption())
    .action(async (paths: string[], options: { output: OutputFormat }) => {
      const files: TemplateFile[] = [];
      for (const path of paths) files.push(...(await templateFilesAt(path)));
      if (files.length === 0) {
        throw new CliError(ExitCode.Usage, `no .yaml or .yml files in ${paths.join(', ')}`);
      }
      const reports = await checkTemplateFiles(files, await orchestrationChecks());
      const bad = reports.filter((r) => r.problems.length > 0);
      if (options.output === 'json') {
        printJson({
          valid: bad.length === 0,
          files: reports.map((r) => ({
            file: r.source,
            template: r.template ? templateKey(r.template) : null,
            problems: r.problems,
            warnings: r.warnings,
          })),
        });
      } else {
        writeOut(
          reports
            .flatMap((r) => [
              ...(r.template
                ? [`${r.source}: ok (${templateKey(r.template)}, ${r.template.steps.length} steps)`]
                : r.problems.map((p) => `${r.source}: ${p}`)),
              ...r.warnings.map((w) => `${r.source}: warning: ${w}`),
            ])
            .join('\n'),
        );
      }
      if (bad.length > 0) {
        const count = bad.reduce((n, r) => n + r.problems.length, 0);
        throw new CliError(
          ExitCode.Failed,
          `${count} problem${count === 1 ? '' : 's'} in ${bad.length} of ${reports.length} files`,
        );
      }
    });

  withApiOptions(template.command('graph'))
    .description('print the DAG of a registered template (or of a local file)')
    .argument('<template>', 'namespace/name/version, or the path of a template file')
    .addOption(
      new Option('-f, --format <format>', 'text or mermaid')
        .choices(['text', 'mermaid'])
        .default('text'),
    )
    .action(async (ref: string, options: { format: 'text' | 'mermaid' }, command: Command) => {
      const graph = (await isFile(ref))
        ? await localTemplate(ref)
        : await apiClientFor(command).templates.get(...templateRef(ref));
      writeOut(options.format === 'mermaid' ? renderGraphMermaid(graph) : renderGraphText(graph));
    });
}

/** A file as given, or the template files under a directory. */
async function templateFilesAt(path: string): Promise<TemplateFile[]> {
  const info = await stat(path).catch(() => null);
  if (!info) throw new CliError(ExitCode.Usage, `${path}: no such file or directory`);
  if (!info.isDirectory()) return [{ path, source: path }];
  return (await findTemplateFiles(path)).map((file) => ({ path: file, source: file }));
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() ?? false;
}

async function localTemplate(path: string): Promise<TaskTemplate> {
  const [report] = await checkTemplateFiles([{ path, source: path }]);
  if (!report?.template) {
    throw new CliError(
      ExitCode.Failed,
      (report?.problems ?? []).map((p) => `${path}: ${p}`).join('\n'),
    );
  }
  return report.template;
}

function templateRef(ref: string): [namespace: string, name: string, version: string] {
  const parts = ref.split('/');
  if (parts.length !== 3 || parts.some((p) => p.length === 0)) {
    throw new CliError(
      ExitCode.Usage,
      `template must be namespace/name/version (like examples/diamond/1.0.0), got ${ref}`,
    );
  }
  return parts as [string, string, string];
}

/**
 * Orchestration's staleness thresholds and TASKER_ENV as it would read them here (TASKER_STALE_*,
 * the config file, defaults): boot refuses a step timeout past the thresholds, so validate does
 * too, and applies the same environment's overrides.
 */
async function orchestrationChecks(): Promise<TemplateCheckOptions> {
  const { loadConfigSource, parseOrchestrationConfig } = await import('#config');
  try {
    const config = parseOrchestrationConfig(loadConfigSource(process.env));
    return { stalenessDefaults: config.staleness, environment: config.env };
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(ExitCode.Usage, err.message);
    throw err;
  }
}
