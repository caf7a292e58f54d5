import type * as client from 'openid-client'
import { recordAudit, type Actor } from '../db/audit.js'
import type { Db } from '../db/client.js'
import type { Provider } from '../db/generated/client.js'
import type { Deps } from '../deps.js'
import { withClientSecrets } from '../providers/client-secrets.js'
import { clientSecretContext, errorCodeOf, fallbackClientSecretsContext } from '../providers/registry.js'

/**
 * Records whether the provider accepts our client credentials: `error` set means it answered invalid_client
 * (our secret is wrong, not the user's grant), null means a grant just succeeded. Audited on change only, so
 * a thousand connections failing for the same reason leave one entry.
 */
export async function markProviderCredentials(
  tx: Db,
  providerId: string,
  error: string | null,
  actor: Actor,
  now: Date,
): Promise<void> {
  const status = error === null ? 'ok' : 'invalid_client'
  const { count } = await tx.prisma.provider.updateMany({
    where: { id: providerId, NOT: { credentialsStatus: status } },
    data: { credentialsStatus: status, credentialsError: error, credentialsCheckedAt: now },
  })
  if (count === 0) return
  await recordAudit(tx, {
    actor,
    action: error === null ? 'provider.credentials_accepted' : 'provider.credentials_rejected',
    subjectType: 'provider',
    subjectId: providerId,
    providerId,
    ...(error === null ? {} : { detail: { error } }),
  })
}

type PromotionDeps = Pick<Deps, 'db' | 'keyring' | 'providers' | 'now' | 'log'>

/**
 * Calls the provider with its client secrets in turn (see withClientSecrets); when a later one is accepted it is put
 * first, so the next calls start with it. A failed promotion is logged: the provider's answer is never lost to it.
 */
export async function withClientSecretRotation<T>(
  deps: PromotionDeps,
  provider: Provider,
  call: (config: client.Configuration) => Promise<T>,
): Promise<T> {
  const { result, secretIndex } = await withClientSecrets(deps.providers, provider, call)
  if (secretIndex > 0) {
    try {
      await promoteClientSecret(deps, provider, secretIndex)
    } catch (err) {
      deps.log.warn(
        { provider: provider.id, errorCode: errorCodeOf(err) },
        'promoting the accepted client secret failed',
      )
    }
  }
  return result
}

/** Moves secret number `index` first, unless the provider was changed since `provider` was read; audited. */
async function promoteClientSecret(deps: PromotionDeps, provider: Provider, index: number): Promise<void> {
  const { keyring } = deps
  const secrets = deps.providers.clientSecrets(provider)
  const accepted = secrets[index]
  if (accepted === undefined) return
  const rest = secrets.filter((_, i) => i !== index)
  const promoted = await deps.db.transaction(async (tx) => {
    const { count } = await tx.prisma.provider.updateMany({
      where: { id: provider.id, updatedAt: provider.updatedAt },
      data: {
        clientSecretEnc: keyring.encrypt(accepted, clientSecretContext(provider.id)),
        fallbackClientSecretsEnc: keyring.encrypt(JSON.stringify(rest), fallbackClientSecretsContext(provider.id)),
      },
    })
    if (count === 0) return false
    await recordAudit(tx, {
      actor: 'system',
      action: 'provider.client_secret_promoted',
      subjectType: 'provider',
      subjectId: provider.id,
      providerId: provider.id,
      detail: { from: index + 1, secrets: secrets.length },
    })
    return true
  })
  if (promoted) {
    deps.providers.invalidate(provider.id)
    deps.log.info(
      { provider: provider.id, from: index + 1 },
      'the provider accepted a later client secret: it is first now',
    )
  }
}
