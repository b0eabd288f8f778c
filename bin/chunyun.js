#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so `chunyun` works from a checkout without a build step.
import { register } from "tsx/esm/api"
register()
await import("../cli/main.ts")
