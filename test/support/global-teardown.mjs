// globalTeardown of the parallel jest project: stops the containers global-setup.mjs started.
export default async function globalTeardown() {
  await Promise.all((globalThis.taskerTestContainers ?? []).map((container) => container.stop()));
}
