// `${connectionConfig.<name>}` in a template's URLs and parameters: values each provider gives (a Zendesk subdomain,
// an Auth0 domain), filled in when the provider is created.

const PLACEHOLDER = /\$\{connectionConfig\.([A-Za-z][A-Za-z0-9_]*)\}/g

/** The names a value refers to. */
export function placeholdersIn(value: string): string[] {
  return [...value.matchAll(PLACEHOLDER)].map((match) => match[1] as string)
}

/** The value with its placeholders filled in; undefined when one of them has no value. */
export function fillPlaceholders(value: string, values: Readonly<Record<string, string>>): string | undefined {
  let missing = false
  const filled = value.replace(PLACEHOLDER, (_whole, name: string) => {
    const given = values[name]
    if (given === undefined) missing = true
    return given ?? ''
  })
  return missing ? undefined : filled
}
