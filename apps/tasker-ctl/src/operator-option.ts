import { userInfo } from 'node:os';
import { Option } from 'commander';

/**
 * Who is acting, recorded in a step's history or on a DLQ entry: the option, else
 * TASKER_OPERATOR, else the OS user name. Where the process has no user name (a container
 * running as a UID without a passwd entry) the option or the variable is required.
 */
export function operatorOption(flags: string, description: string): Option {
  const option = new Option(flags, description).env('TASKER_OPERATOR');
  const user = osUserName();
  return user ? option.default(user, `OS user ${user}`) : option.makeOptionMandatory();
}

function osUserName(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    return undefined;
  }
}
