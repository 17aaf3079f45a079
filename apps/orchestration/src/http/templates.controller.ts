import { Controller, Get, Param } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type * as core from '#core';
import { TemplateRepository } from '#persistence';
import { ApiErrors } from './api-errors.js';
import { TaskTemplate, TemplateList } from './views/task.view.js';

@ApiTags('templates')
@Controller('v1/templates')
export class TemplatesController {
  constructor(private readonly templates: TemplateRepository) {}

  @Get()
  @ApiOperation({ summary: 'Every registered template, with its steps' })
  @ApiOkResponse({ type: TemplateList })
  async list(): Promise<core.ItemList<core.TemplateSummaryView>> {
    const templates = await this.templates.list();
    return {
      items: templates.map((t) => ({
        namespace: t.namespace,
        name: t.name,
        version: t.version,
        description: t.description ?? null,
        identityStrategy: t.identityStrategy,
        steps: t.steps.map((s) => ({ name: s.name, handler: s.handler, dependsOn: s.dependsOn })),
      })),
    };
  }

  @Get(':namespace/:name/:version')
  @ApiOperation({ summary: 'One template version as registered' })
  @ApiOkResponse({ type: TaskTemplate })
  @ApiErrors(404)
  async get(
    @Param('namespace') namespace: string,
    @Param('name') name: string,
    @Param('version') version: string,
  ): Promise<core.TaskTemplate> {
    return (await this.templates.find(namespace, name, version)).template;
  }
}
