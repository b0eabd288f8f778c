/**
 * Backups (Backup.ts).
 */
import { Context, Layer } from "effect"

/** where backups go */
export interface BackupSettings {
  /** where `POST /admin/backups` writes its files */
  readonly backupDirectory: string
}

export const defaultBackupSettings: BackupSettings = {
  backupDirectory: "./data/backups"
}

/** The backup settings a server runs with. */
export class BackupConfig extends Context.Tag("BackupConfig")<BackupConfig, BackupSettings>() {
  /** the defaults, with `overrides` over them */
  static readonly layer = (overrides: Partial<BackupSettings> = {}) => Layer.succeed(BackupConfig, { ...defaultBackupSettings, ...overrides })
}
