// @prisma/migrate ships no type declarations; this covers the part the service uses.
declare module '@prisma/migrate' {
  import type { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils'

  export interface SchemaEngine {
    stop(): Promise<void>
    migrateDiff(input: unknown): Promise<unknown>
  }

  const prismaMigrate: {
    SchemaEngineWasm: {
      setup(options: { adapter: ReturnType<typeof bindMigrationAwareSqlAdapterFactory> }): Promise<SchemaEngine>
    }
    Migrate: new (options: { engine: SchemaEngine; migrationsDirPath: string }) => {
      applyMigrations(): Promise<{ appliedMigrationNames: string[] }>
    }
  }
  export default prismaMigrate
}
