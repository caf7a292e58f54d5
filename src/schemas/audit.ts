// The audit trail as the admin reads it.
import { DateTime, Nullable, StringEnum, Type, type Static } from './common.js'

export const auditSubjectTypes = ['connection', 'provider', 'client', 'webhook', 'keyring', 'authorization'] as const

const nullableString = Nullable(Type.String())

export const auditEventExample = {
  id: '1042',
  at: '2026-01-01T10:00:00.000Z',
  actor: 'system',
  action: 'connection.refreshed',
  subjectType: 'connection',
  subjectId: '0b6f3c52-5b1e-4d47-9a55-2f4c8d1f7e21',
  namespace: 'billing',
  providerId: 'google',
  userId: 'user-42',
  detail: { trigger: 'scheduler' },
}

export const AuditEventView = Type.Object(
  {
    id: Type.String(),
    at: DateTime(),
    actor: Type.String({ description: '`admin`, `system`, `user` or `client:<id>`' }),
    action: Type.String(),
    subjectType: StringEnum(auditSubjectTypes),
    subjectId: nullableString,
    namespace: Nullable(Type.String({ description: 'The namespace of the connection or caller concerned' })),
    providerId: nullableString,
    userId: nullableString,
    detail: Nullable(
      Type.Object(
        {},
        { additionalProperties: true, description: 'Identifiers, counts and error codes; never a secret' },
      ),
    ),
  },
  { example: auditEventExample },
)
export type AuditEventView = Static<typeof AuditEventView>
