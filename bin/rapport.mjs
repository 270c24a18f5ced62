#!/usr/bin/env -S node --max-semi-space-size=32
// Entry point: registers the TypeScript loader, then runs the CLI. The larger young generation (32 MB
// semi-spaces) keeps the processor's short-lived objects out of the old generation: 10-14 % less CPU per
// event (bench/RESULTS.md); V8 reads the flag only at start-up, hence the shebang and the npm scripts.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
