/**
 * What `trancheModule()` defines for a module's code. An app using tranche/vite outside this
 * repository declares the same two fields on its own `ImportMetaEnv`.
 */
interface ImportMetaEnv {
  /** The module name the build is released under. */
  readonly TRANCHE_MODULE: string;
  /** The version the build is released as. */
  readonly TRANCHE_VERSION: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
