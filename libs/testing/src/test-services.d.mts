export declare const TEMPLATE_LOCK_KEY: number;
export type TestServices = 'containers' | 'local';
export type DockerEndpoint = { socketPath: string } | { url: string };
export declare function dockerEndpoint(dockerHost: string | undefined): DockerEndpoint;
export declare function chooseTestServices(
  flag: string | undefined,
  engineAnswers: boolean,
): TestServices;
export declare function dockerEngineAnswers(endpoint: DockerEndpoint): Promise<boolean>;
export declare function withoutPassword(url: string): string;
export declare function describeTestServices(
  databaseUrl: string,
  brokerUrl: string,
): Promise<string[]>;
