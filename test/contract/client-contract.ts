// Type-checked by test/openapi-contract.e2e-spec.ts after it writes openapi.generated.ts from the
// document a running orchestration serves (openapi-typescript). Each line pairs a client method
// with its operation: what the server answers must fit what the method returns, and what the
// method sends must fit what the server accepts. A schema that goes missing (`never`) fails too.
import type { ErrorBody, TaskerClient } from '../../libs/client/src/index.js';
import type { components, paths } from './openapi.generated.js';

type Method = 'get' | 'post' | 'patch' | 'delete';
type Op<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type Json<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;
type Reply<P extends keyof paths, M extends Method, S extends number> =
  Op<P, M> extends { responses: infer R } ? (S extends keyof R ? Json<R[S]> : never) : never;
type Body<P extends keyof paths, M extends Method> =
  Op<P, M> extends { requestBody: infer B } ? Json<NonNullable<B>> : never;
type Query<P extends keyof paths, M extends Method> =
  Op<P, M> extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;

type Fn = (...args: never[]) => Promise<unknown>;
type Returns<F extends Fn> = Awaited<ReturnType<F>>;
type Arg<F extends Fn, I extends number> = NonNullable<Parameters<F>[I]>;

type IsNever<T> = [T] extends [never] ? true : false;
/** The served reply fits the type the client gives its caller. */
type Reads<Client, Served> =
  IsNever<Served> extends true
    ? 'the document has no schema for this reply'
    : [Served] extends [Client]
      ? true
      : { 'the served reply does not fit the client type': Served };
/** What the client sends is what the server accepts. */
type Sends<Client, Accepted> =
  IsNever<Accepted> extends true
    ? 'the document has no schema for this input'
    : [Client] extends [Accepted]
      ? true
      : { 'the client sends what the server does not accept': Client };
type Holds<T extends true> = T;

type C = TaskerClient;
type Tasks = C['tasks'];
type Steps = C['steps'];
type Templates = C['templates'];
type Schedules = C['schedules'];
type Dlq = C['dlq'];
type Stats = C['stats'];

export type Contract = [
  Holds<Sends<Arg<Tasks['create'], 0>, Body<'/v1/tasks', 'post'>>>,
  Holds<Reads<Returns<Tasks['create']>, Reply<'/v1/tasks', 'post', 201>>>,
  Holds<Sends<Arg<Tasks['list'], 0>, Query<'/v1/tasks', 'get'>>>,
  Holds<Reads<Returns<Tasks['list']>, Reply<'/v1/tasks', 'get', 200>>>,
  Holds<Reads<Returns<Tasks['get']>, Reply<'/v1/tasks/{taskUuid}', 'get', 200>>>,
  Holds<Reads<Returns<Tasks['waitFor']>, Reply<'/v1/tasks/{taskUuid}', 'get', 200>>>,
  Holds<Reads<Returns<Tasks['createAndWait']>, Reply<'/v1/tasks/{taskUuid}', 'get', 200>>>,
  Holds<
    Reads<Returns<Tasks['transitions']>, Reply<'/v1/tasks/{taskUuid}/transitions', 'get', 200>>
  >,
  Holds<Reads<Returns<Tasks['cancel']>, Reply<'/v1/tasks/{taskUuid}', 'delete', 200>>>,
  Holds<Sends<{ reason: Arg<Tasks['cancel'], 1> }, Query<'/v1/tasks/{taskUuid}', 'delete'>>>,

  Holds<Reads<Returns<Steps['get']>, Reply<'/v1/tasks/{taskUuid}/steps/{stepUuid}', 'get', 200>>>,
  Holds<Sends<Arg<Steps['act'], 2>, Body<'/v1/tasks/{taskUuid}/steps/{stepUuid}', 'patch'>>>,
  Holds<Reads<Returns<Steps['act']>, Reply<'/v1/tasks/{taskUuid}/steps/{stepUuid}', 'patch', 200>>>,

  Holds<Reads<Returns<Templates['list']>, Reply<'/v1/templates', 'get', 200>>>,
  Holds<
    Reads<
      Returns<Templates['get']>,
      Reply<'/v1/templates/{namespace}/{name}/{version}', 'get', 200>
    >
  >,

  Holds<Sends<Arg<Schedules['create'], 0>, Body<'/v1/schedules', 'post'>>>,
  Holds<Reads<Returns<Schedules['create']>, Reply<'/v1/schedules', 'post', 201>>>,
  Holds<Sends<Arg<Schedules['list'], 0>, Query<'/v1/schedules', 'get'>>>,
  Holds<Reads<Returns<Schedules['list']>, Reply<'/v1/schedules', 'get', 200>>>,
  Holds<Reads<Returns<Schedules['get']>, Reply<'/v1/schedules/{scheduleUuid}', 'get', 200>>>,
  Holds<Sends<Arg<Schedules['update'], 1>, Body<'/v1/schedules/{scheduleUuid}', 'patch'>>>,
  Holds<Reads<Returns<Schedules['update']>, Reply<'/v1/schedules/{scheduleUuid}', 'patch', 200>>>,
  Holds<
    Reads<Returns<Schedules['runNow']>, Reply<'/v1/schedules/{scheduleUuid}/run-now', 'post', 201>>
  >,
  Holds<
    Sends<
      { until?: Arg<Schedules['snooze'], 1> },
      Body<'/v1/schedules/{scheduleUuid}/snooze', 'post'>
    >
  >,
  Holds<
    Reads<Returns<Schedules['snooze']>, Reply<'/v1/schedules/{scheduleUuid}/snooze', 'post', 200>>
  >,
  Holds<Sends<Arg<Schedules['runs'], 1>, Query<'/v1/schedules/{scheduleUuid}/runs', 'get'>>>,
  Holds<Reads<Returns<Schedules['runs']>, Reply<'/v1/schedules/{scheduleUuid}/runs', 'get', 200>>>,

  Holds<Sends<Arg<Dlq['list'], 0>, Query<'/v1/dlq', 'get'>>>,
  Holds<Reads<Returns<Dlq['list']>, Reply<'/v1/dlq', 'get', 200>>>,
  Holds<Reads<Returns<Dlq['get']>, Reply<'/v1/dlq/{entryUuid}', 'get', 200>>>,
  Holds<Sends<Arg<Dlq['resolve'], 1>, Body<'/v1/dlq/{entryUuid}', 'patch'>>>,
  Holds<Reads<Returns<Dlq['resolve']>, Reply<'/v1/dlq/{entryUuid}', 'patch', 200>>>,
  Holds<Reads<Returns<Dlq['stats']>, Reply<'/v1/dlq/stats', 'get', 200>>>,

  Holds<Reads<Returns<Stats['tasks']>, Reply<'/v1/stats/tasks', 'get', 200>>>,
  Holds<Sends<{ minutes?: Arg<Stats['finishes'], 0> }, Query<'/v1/stats/finishes', 'get'>>>,
  Holds<Reads<Returns<Stats['finishes']>, Reply<'/v1/stats/finishes', 'get', 200>>>,
  Holds<Reads<Returns<Stats['queues']>, Reply<'/v1/stats/queues', 'get', 200>>>,
  Holds<
    Sends<{ limit?: Arg<Stats['upcomingFires'], 0> }, Query<'/v1/stats/upcoming-fires', 'get'>>
  >,
  Holds<Reads<Returns<Stats['upcomingFires']>, Reply<'/v1/stats/upcoming-fires', 'get', 200>>>,

  // Every error reply is the body the client's errors carry.
  Holds<Reads<ErrorBody, components['schemas']['ErrorBodyView']>>,
  Holds<Reads<ErrorBody, Reply<'/v1/tasks/{taskUuid}', 'get', 404>>>,
];
