// What the admin sees of stored connections: state and timing, never a token.
import {
  countConnectionsByStatus,
  findConnectionSummary,
  listConnectionSummaries,
  type ConnectionFilter,
  type ConnectionSummary,
} from '../db/connections/index.js'
import { timeIdCursor, limitOf, toPage, type Page, type PageRequest } from '../db/pagination.js'
import type { Deps } from '../deps.js'
import { notFound } from '../errors.js'
import type { ConnectionView } from '../schemas/connection.js'
import { isUuid } from '../schemas/ids.js'

function toView({
  providerId,
  refreshTokenEnc,
  leaseOwner,
  leaseExpiresAt,
  grantType,
  ...row
}: ConnectionSummary): ConnectionView {
  return {
    ...row,
    grantType: grantType === 'client_credentials' ? 'client_credentials' : 'authorization_code',
    provider: providerId,
    hasRefreshToken: refreshTokenEnc !== null,
    lease: leaseOwner ? { owner: leaseOwner, expiresAt: leaseExpiresAt } : null,
  }
}

export function createConnectionViews(deps: Pick<Deps, 'db'>) {
  const { db } = deps
  return {
    /** Connections matching `filter`, newest first. */
    async list(filter: ConnectionFilter, page: PageRequest): Promise<Page<ConnectionView>> {
      const after = page.cursor === undefined ? undefined : timeIdCursor.decode(page.cursor)
      const rows = await listConnectionSummaries(db, filter, { limit: limitOf(page) + 1, after })
      return toPage(rows, limitOf(page), toView, timeIdCursor.keyOf)
    },

    async get(id: string): Promise<ConnectionView> {
      const row = isUuid(id) ? await findConnectionSummary(db, id) : null
      if (!row) throw notFound('connection')
      return toView(row)
    },

    countByStatus: () => countConnectionsByStatus(db),
  }
}

export type ConnectionViews = ReturnType<typeof createConnectionViews>
