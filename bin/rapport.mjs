#!/usr/bin/env node
// Entry point: registers the TypeScript loader, then runs the CLI. The npm scripts start it with 32 MB
// semi-spaces (10-13 % less CPU per event, bench/RESULTS.md); V8 reads that flag only at start-up, so a
// direct start takes it from NODE_OPTIONS (`env -S` in the shebang would break on busybox, e.g. Alpine).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
