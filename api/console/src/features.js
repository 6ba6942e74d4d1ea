// What this service offers, read from its OpenAPI document: the console only shows actions
// whose endpoints exist (the dispatch API arrived after the console's first version).
export const features = {
  recommendations: false,
  assignments: false,
  coverage: false,
  groupCommands: false,
  patrols: false,
};

export async function detectFeatures() {
  try {
    const doc = await (await fetch('/openapi.json')).json();
    const paths = doc.paths || {};
    features.recommendations = Boolean(paths['/v1/incidents/{incident_id}/recommendations']);
    features.assignments = Boolean(paths['/v1/incidents/{incident_id}/assignments']?.post);
    features.coverage = Boolean(paths['/v1/coverage']);
    features.groupCommands = Boolean(paths['/v1/commands/group']);
    features.patrols = Object.keys(paths).some((p) => p.startsWith('/v1/patrols'));
  } catch {
    // Without the document the console falls back to what every version has.
  }
  return features;
}
