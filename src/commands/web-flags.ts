/**
 * The flags that say how serve (and the demo) listen, named as Prometheus and its exporters name them, so an
 * operator types what they already know: --web.config.file, --web.enable-lifecycle.
 */
export const WEB_FLAGS = {
  configFile: '--web.config.file <file>',
  lifecycle: '--web.enable-lifecycle',
  insecureActions: '--web.insecure-actions',
} as const;

/** Commander keeps dotted option names as they are. */
export interface WebOptions {
  'web.config.file'?: string;
  'web.enableLifecycle'?: boolean;
  'web.insecureActions'?: boolean;
}

export function webOptions(o: WebOptions) {
  return {
    webConfigFile: o['web.config.file'],
    enableLifecycle: o['web.enableLifecycle'] ?? false,
    insecureActions: o['web.insecureActions'] ?? false,
  };
}
