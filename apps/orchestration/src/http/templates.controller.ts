import { Controller, Get, Param } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { TaskTemplate } from '#core';
import { TemplateRepository } from '#persistence';

@ApiTags('templates')
@Controller('v1/templates')
export class TemplatesController {
  constructor(private readonly templates: TemplateRepository) {}

  @Get()
  async list() {
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
  async get(
    @Param('namespace') namespace: string,
    @Param('name') name: string,
    @Param('version') version: string,
  ): Promise<TaskTemplate> {
    return (await this.templates.find(namespace, name, version)).template;
  }
}
