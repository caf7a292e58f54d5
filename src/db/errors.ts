import { Prisma } from './generated/client.js'

/** A unique constraint refused the write (Prisma P2002): the row was created concurrently, or already exists. */
export function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002'
}
