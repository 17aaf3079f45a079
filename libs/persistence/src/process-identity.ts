import { Injectable } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';

/** This process's id, recorded as processor_uuid on every transition it writes. */
@Injectable()
export class ProcessIdentity {
  readonly processorUuid = uuidv7();
}
