#!/usr/bin/env node
// The published entry point: runs the compiled CLI. `npm ci` builds dist/ through the `prepare` script.
import '../dist/cli.js';
