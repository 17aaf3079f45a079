import { tasksApi } from './api';
import { Dag } from './dag';
import { usePoll } from './use-poll';

/** The registered templates, each with its step graph. */
export function TemplatesPage() {
  const templates = usePoll(() => tasksApi.templates(), 60_000, []);
  return (
    <section aria-labelledby="templates-title">
      <h1 id="templates-title">Templates</h1>
      {templates.error && (
        <p role="alert" class="error">
          {templates.error.message}
        </p>
      )}
      {templates.data?.items.map((t) => (
        <section
          key={`${t.namespace}/${t.name}/${t.version}`}
          class="card"
          data-template={`${t.namespace}/${t.name}`}
        >
          <h2>
            {t.namespace}/{t.name} <span class="muted">{t.version}</span>
          </h2>
          {t.description && <p>{t.description}</p>}
          <div class="scroll">
            <Dag
              steps={t.steps.map((s) => ({
                id: s.name,
                name: s.name,
                dependsOn: s.dependsOn,
                detail: s.handler,
              }))}
            />
          </div>
        </section>
      ))}
    </section>
  );
}
