import { type ArgumentMetadata, BadRequestException, type PipeTransform } from '@nestjs/common';
import { findJsonbUnstorable } from '#persistence';

/**
 * Refuses, before any validation or write, request input that PostgreSQL cannot store although
 * JSON and URLs can carry it: U+0000 and unpaired surrogates, in a body (strings and keys, at
 * any depth), a query string or a path parameter. Without it such a value reaches a text or
 * jsonb column and the whole write fails as a 500.
 */
export class StorableInputPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'custom') return value;
    const root =
      metadata.type === 'body'
        ? '$'
        : metadata.data
          ? `${metadata.type}.${metadata.data}`
          : metadata.type;
    const problem = findJsonbUnstorable(value, root);
    if (problem) throw new BadRequestException(`${problem}, which cannot be stored`);
    return value;
  }
}
