import { recordAudit, type Actor } from '../db/audit.js'
import type { Db } from '../db/client.js'

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
