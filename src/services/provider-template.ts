// What a template gives a provider being created: its settings with `${connectionConfig.x}` filled in. Fields the
// provider gives itself win, and a placeholder in a field it overrides needs no value.
import { invalidRequest } from '../errors.js'
import type { TokenEndpointAuthMethod } from '../providers/client-auth.js'
import { fillPlaceholders, placeholdersIn } from '../providers/templates/placeholders.js'
import type { Template } from '../schemas/template.js'

/** The provider settings a template fills in. */
export interface TemplateDefaults {
  issuer?: string
  authorizationEndpoint?: string
  tokenEndpoint?: string
  revocationEndpoint?: string
  tokenEndpointAuthMethod?: TokenEndpointAuthMethod
  scopes?: string[]
  authorizationParams?: Record<string, string>
  pkce?: boolean
  defaultTokenLifetimeSeconds?: number
  refreshMarginSeconds?: number
  refreshTokenLifetimeSeconds?: number
}

type UrlField = 'issuer' | 'authorizationEndpoint' | 'tokenEndpoint' | 'revocationEndpoint'
const URL_FIELDS: readonly UrlField[] = ['issuer', 'authorizationEndpoint', 'tokenEndpoint', 'revocationEndpoint']

/**
 * The connectionConfig values checked against the template's fields (unknown names, patterns, defaults) and the
 * defaults they give; `overridden` names the URL fields the provider sets itself. Refuses a value the template needs
 * and was not given, naming it.
 */
export function templateDefaults(
  template: Template,
  given: Readonly<Record<string, string>>,
  overridden: ReadonlySet<UrlField>,
): { defaults: TemplateDefaults; connectionConfig: Record<string, string> } {
  const fields = template.connectionConfig ?? []
  for (const name of Object.keys(given)) {
    if (!fields.some((field) => field.name === name)) {
      throw invalidRequest(`connectionConfig.${name} is not a setting of the ${template.name} template`)
    }
  }
  const values: Record<string, string> = {}
  for (const field of fields) {
    const value = given[field.name] ?? field.default
    if (value === undefined) continue
    if (field.pattern && !new RegExp(`^(?:${field.pattern})$`).test(value)) {
      throw invalidRequest(`connectionConfig.${field.name} is not valid for the ${template.name} template`)
    }
    values[field.name] = value
  }
  const required = (text: string) => {
    const filled = fillPlaceholders(text, values)
    if (filled === undefined) {
      const missing = placeholdersIn(text).filter((name) => values[name] === undefined)
      throw invalidRequest(
        `the ${template.name} template needs ${missing.map((name) => `connectionConfig.${name}`).join(', ')}`,
      )
    }
    return filled
  }
  const defaults: TemplateDefaults = {}
  for (const field of URL_FIELDS) {
    const text = template[field]
    if (text !== undefined && !overridden.has(field)) defaults[field] = required(text)
  }
  const params: Record<string, string> = {}
  for (const [name, text] of Object.entries(template.authorizationParams ?? {})) {
    const filled = fillPlaceholders(text, values)
    // a parameter made only of optional values that were not given is left out
    if (filled !== undefined) params[name] = filled
    else if (!placeholdersIn(text).every((missing) => isOptional(template, missing))) required(text)
  }
  if (Object.keys(params).length > 0) defaults.authorizationParams = params
  if (template.tokenEndpointAuthMethod) defaults.tokenEndpointAuthMethod = template.tokenEndpointAuthMethod
  if (template.scopes) defaults.scopes = template.scopes
  if (template.pkce !== undefined) defaults.pkce = template.pkce
  if (template.defaultTokenLifetimeSeconds) defaults.defaultTokenLifetimeSeconds = template.defaultTokenLifetimeSeconds
  if (template.refreshMarginSeconds !== undefined) defaults.refreshMarginSeconds = template.refreshMarginSeconds
  if (template.refreshTokenLifetimeSeconds) defaults.refreshTokenLifetimeSeconds = template.refreshTokenLifetimeSeconds
  return { defaults, connectionConfig: values }
}

function isOptional(template: Template, name: string): boolean {
  return template.connectionConfig?.some((field) => field.name === name && field.optional === true) ?? false
}
